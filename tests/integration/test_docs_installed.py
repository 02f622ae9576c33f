#!/usr/bin/python3 -B
"""The documents that the man pages, the READMEs and the Python docstrings
point to are installed.

They cite documents by their path in the source tree (docs/ENVELOPE.md,
bindings/python/README.md); `make install` puts them under $(docdir) with
the same layout, so each citation holds in the installed documentation
directory too. This test installs the documentation of the build tree into
a temporary DESTDIR (the install-*DATA targets of Makefile.am's doc_DATA,
docs_DATA and pydoc_DATA) and checks that every cited document, and every
docs/*.md, is there.

Environment (make check exports it): top_srcdir, top_builddir.
"""

import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SRCDIR = os.environ.get("top_srcdir") or os.path.abspath(
    os.path.join(HERE, "..", ".."))
BUILDDIR = os.environ.get("top_builddir") or os.path.join(SRCDIR, "build")

# Where documents are cited: (glob in the source tree, how a citation looks).
CITED_PATH = re.compile(r"(?<![\w/.-])((?:docs/[\w.-]+|bindings/python/"
                        r"README)\.md)\b")
MD_LINK = re.compile(r"\]\(([^)#\s]+\.md)(?:#[^)]*)?\)")
CITERS = ("cli/*.1", "bindings/python/libe2e/*.py", "README.md",
          "bindings/python/README.md", "docs/*.md")


def citations():
    """{document path in the source tree: [where it is cited]}."""
    found = {}
    for pattern in CITERS:
        for path in sorted(glob.glob(os.path.join(SRCDIR, pattern))):
            rel = os.path.relpath(path, SRCDIR)
            with open(path, encoding="utf-8") as f:
                text = f.read()
            cited = set(CITED_PATH.findall(text))
            if rel.endswith(".md"):
                # Markdown links are relative to the file that has them.
                for link in MD_LINK.findall(text):
                    if "://" in link:
                        continue
                    cited.add(os.path.normpath(os.path.join(
                        os.path.dirname(rel), link)))
            for doc in cited:
                found.setdefault(doc, []).append(rel)
    return found


# A make of its own, not a part of the make check that runs this test.
MAKE_ENV = {k: v for k, v in os.environ.items()
            if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")}
MAKE = ["make", "-s", "--no-print-directory", "-C", BUILDDIR]


def make_var(name):
    r = subprocess.run(MAKE + ["-f", "Makefile", "-f", "-", "print-var"],
                       input="print-var:\n\t@echo $(%s)\n" % name,
                       env=MAKE_ENV, capture_output=True, text=True,
                       timeout=120)
    if r.returncode != 0:
        raise RuntimeError(r.stderr)
    return r.stdout.strip()


class InstalledDocs(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dest = tempfile.mkdtemp(prefix="e2e-docs-")
        r = subprocess.run(
            MAKE + ["install-docDATA", "install-docsDATA",
                    "install-pydocDATA", "DESTDIR=" + cls.dest],
            env=MAKE_ENV, capture_output=True, text=True, timeout=300)
        cls.install = r
        cls.docdir = cls.dest + make_var("docdir")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dest, ignore_errors=True)

    def test_documentation_installs(self):
        self.assertEqual(self.install.returncode, 0,
                         self.install.stdout + self.install.stderr)

    def test_every_cited_document_is_installed_at_its_cited_path(self):
        cited = citations()
        self.assertIn("docs/ENVELOPE.md", cited)  # the search works
        for doc, where in sorted(cited.items()):
            if not os.path.isfile(os.path.join(SRCDIR, doc)):
                continue  # not a document of this tree (checked below)
            with self.subTest(doc=doc):
                self.assertTrue(os.path.isfile(os.path.join(self.docdir,
                                                            doc)),
                                "%s (cited in %s) is not installed under "
                                "%s" % (doc, ", ".join(where), self.docdir))

    def test_every_cited_document_exists(self):
        for doc, where in sorted(citations().items()):
            with self.subTest(doc=doc):
                self.assertTrue(os.path.isfile(os.path.join(SRCDIR, doc)),
                                "%s is cited in %s but does not exist"
                                % (doc, ", ".join(where)))

    def test_every_document_of_docs_is_installed(self):
        for path in glob.glob(os.path.join(SRCDIR, "docs", "*.md")):
            doc = os.path.relpath(path, SRCDIR)
            with self.subTest(doc=doc):
                self.assertTrue(os.path.isfile(os.path.join(self.docdir,
                                                            doc)))


if __name__ == "__main__":
    if not os.path.isfile(os.path.join(BUILDDIR, "Makefile")):
        print("SKIP: no configured build tree at %s" % BUILDDIR)
        sys.exit(77)
    unittest.main(verbosity=2)
