#!/usr/bin/python3 -B
"""What scripts/test.sh reports: on failure the logs of the failing tests
only, named (scripts/test-failures.sh), and a total that counts the fuzz
targets (scripts/test-summary.sh).

The scripts run for real (with sh, as test.sh runs them) on build trees
made here as automake's harness leaves them: a .trs and a .log per test,
and the fuzz table that tests/fuzz/run.sh prints and test.sh saves.
"""

import os
import shutil
import subprocess
import tempfile
import textwrap
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SRCDIR = os.environ.get("top_srcdir") or os.path.abspath(
    os.path.join(HERE, "..", ".."))
FAILURES = os.path.join(SRCDIR, "scripts", "test-failures.sh")
SUMMARY = os.path.join(SRCDIR, "scripts", "test-summary.sh")

PASSING_LOG = "test_a ... ok\nPASSING-LOG-TEXT\nRan 3 tests in 0.1s\n\nOK\n"
FAILING_LOG = ("test_b ... FAIL\nFAILING-LOG-TEXT\nRan 2 tests in 0.1s\n\n"
               "FAILED (failures=1)\n")


class Reports(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="e2e-test-scripts-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def make_tree(self, name, results):
        """A build tree with one test per (name, result, log text)."""
        top = os.path.join(self.tmp, name)
        os.makedirs(os.path.join(top, "tests"))
        for test, result, log in results:
            base = os.path.join(top, "tests", test)
            with open(base + ".trs", "w") as f:
                f.write(":test-result: %s\n:global-test-result: %s\n"
                        % (result, result))
            with open(base + ".log", "w") as f:
                f.write(log)
                if result in ("FAIL", "ERROR"):
                    f.write("%s tests/%s (exit status: 1)\n" % (result, test))
        return top

    def fuzz_table(self, failed_log=None):
        path = os.path.join(self.tmp, "fuzz-summary.txt")
        lines = ["target        executions  seconds  result",
                 "open              123456       30  ok",
                 "parse              99999       30  ok"]
        if failed_log:
            with open(failed_log, "w") as f:
                f.write("==1==ERROR: AddressSanitizer: FUZZ-LOG-TEXT\n")
            lines.append("keyring             42       30  FAILED (see %s)"
                         % failed_log)
        lines.append("total             223497")
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        return path

    def run_sh(self, script, *args):
        return subprocess.run(["sh", script, *args], capture_output=True,
                              text=True, timeout=60)

    def mixed_tree(self):
        return self.make_tree("build", [
            ("test_a.py", "PASS", PASSING_LOG),
            ("test_b.py", "FAIL", FAILING_LOG)])

    def test_failures_name_the_failing_logs_and_only_those(self):
        top = self.mixed_tree()
        r = self.run_sh(FAILURES, top)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("  " + os.path.join(top, "tests", "test_b.py.log"),
                      r.stdout)
        self.assertNotIn("test_a.py.log", r.stdout)

    def test_failures_print_the_failing_logs_and_not_the_passing_ones(self):
        r = self.run_sh(FAILURES, self.mixed_tree())
        self.assertIn("FAILING-LOG-TEXT", r.stdout)
        self.assertNotIn("PASSING-LOG-TEXT", r.stdout)

    def test_failures_include_a_failed_fuzz_target(self):
        fuzz_log = os.path.join(self.tmp, "keyring.log")
        r = self.run_sh(FAILURES, self.make_tree("build", [
            ("test_a.py", "PASS", PASSING_LOG)]), self.fuzz_table(fuzz_log))
        self.assertEqual(r.returncode, 1)
        self.assertIn("  " + fuzz_log, r.stdout)
        self.assertIn("FUZZ-LOG-TEXT", r.stdout)

    def test_failures_say_nothing_when_every_test_passed(self):
        r = self.run_sh(FAILURES, self.make_tree("build", [
            ("test_a.py", "PASS", PASSING_LOG)]), self.fuzz_table())
        self.assertEqual((r.returncode, r.stdout), (0, ""))

    def test_error_and_xpass_count_as_failures(self):
        top = self.make_tree("build", [("t_err", "ERROR", "E\n"),
                                       ("t_xpass", "XPASS", "X\n")])
        r = self.run_sh(FAILURES, top)
        self.assertIn("t_err.log", r.stdout)
        self.assertIn("t_xpass.log", r.stdout)

    def test_total_counts_each_fuzz_target(self):
        fuzz_log = os.path.join(self.tmp, "keyring.log")
        r = self.run_sh(SUMMARY, self.mixed_tree(), self.fuzz_table(fuzz_log),
                        "total")
        # 3 + 1 unittest cases passed, 1 failed; fuzz 2 ok, 1 FAILED.
        self.assertEqual(r.stdout, "total: 6 passed, 2 failed, 0 skipped\n")

    def test_total_without_fuzzing_counts_the_suites_alone(self):
        r = self.run_sh(SUMMARY, self.mixed_tree(),
                        os.path.join(self.tmp, "no-fuzz-summary.txt"),
                        "total")
        self.assertEqual(r.stdout, "total: 4 passed, 1 failed, 0 skipped\n")

    def test_a_fuzz_build_failure_is_a_failure(self):
        path = os.path.join(self.tmp, "fuzz-summary.txt")
        with open(path, "w") as f:
            f.write(textwrap.dedent("""\
                cc: error: something
                run.sh: build failed
                """))
        r = self.run_sh(SUMMARY, path, "fuzz")
        self.assertEqual(r.stdout, "fuzz: 0 passed, 1 failed, 0 skipped\n")


if __name__ == "__main__":
    unittest.main(verbosity=2)
