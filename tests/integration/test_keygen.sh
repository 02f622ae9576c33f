#!/bin/sh
# Command-level tests of e2e-keygen: tests/integration/test_keygen.py.
exec "${PYTHON3:-/usr/bin/python3}" "${top_srcdir:-.}/tests/integration/test_keygen.py" -v
