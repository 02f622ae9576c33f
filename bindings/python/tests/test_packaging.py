#!/usr/bin/python3 -B
"""bindings/python as a package: `pip install bindings/python` installs it
(offline, with Debian's setuptools), the installed copy loads libe2e.so or
says clearly where it looked, it ships py.typed, and mypy --strict accepts
both the package and a program written against its public API."""

import os
import shutil
import subprocess
import tempfile
import unittest

import support

PYTHON = "/usr/bin/python3"
SOURCES = ("pyproject.toml", "README.md", "libe2e")

# A program using the public API, type-checked with mypy --strict: an
# unannotated function or a wrong type in the binding makes it fail.
TYPED_CLIENT = '''
from typing import List, Optional, Tuple

import libe2e

def roundtrip(path: str) -> bytes:
    with libe2e.Keyring() as kr:
        key_id: int = kr.generate(libe2e.Suite.AEAD)
        kr.save(path)
        with libe2e.Sender(kr) as sender, libe2e.Guard() as guard:
            env: bytes = sender.seal("a/b", "text", retained=False)
            info: libe2e.Info = libe2e.parse(env)
            assert info.key_id == key_id
            with libe2e.Receiver(kr, guard=guard, filters=["a/#"]) as rx:
                msg: libe2e.Message = rx.open("a/b", env)
    try:
        libe2e.Keyring.load(path + ".absent")
    except FileNotFoundError as err:
        assert err.errno is not None
    except libe2e.E2EError as err:
        print(err.reason, err.message)
    return msg.payload


def key_update(kr: libe2e.Keyring, env: bytes, admin_pk: bytes,
               t: int) -> List[libe2e.UpdateKey]:
    key_id = kr.generate(state=libe2e.KeyState.ENABLED)
    kr.schedule(key_id, activates=t)
    when: Tuple[int, int] = kr.get_schedule(key_id)
    state: libe2e.KeyState = kr.state_at(key_id, t)
    primary: Optional[libe2e.KeyInfo] = kr.primary_at(t)
    kr.advance(t)
    kr.set_filters(key_id, ["tenant-a/#"])
    filters: Tuple[str, ...] = kr.filters(key_id)
    with libe2e.Member() as member:
        assert libe2e.member_id_from_public(member.public_key) == member.id
        body: bytes = libe2e.build_update(
            "plant-7", 1, t, [libe2e.UpdateKey(key_id, key=bytes(32))],
            [(member.public_key, [key_id])])
        with libe2e.Update.open("e2e/keys/plant-7", env,
                                admin_public_key=admin_pk, group="plant-7",
                                member=member, retained=True) as u:
            u.apply(kr, now=t)
            return u.keys
'''


def run(cmd, env=None, cwd=None):
    return subprocess.run(cmd, env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=300)


class Packaging(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="e2e-py-pkg-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        # pip builds in the source directory: build a copy, so that the
        # source tree (read-only under distcheck) is never written.
        self.src = os.path.join(self.tmp, "src")
        os.mkdir(self.src)
        for name in SOURCES:
            path = os.path.join(support.BINDING, name)
            if os.path.isdir(path):
                shutil.copytree(path, os.path.join(self.src, name),
                                ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy(path, self.src)
        # pip, mypy and Python keep caches under HOME: a private one.
        self.env = dict(os.environ, HOME=os.path.join(self.tmp, "home"),
                        PIP_NO_CACHE_DIR="1", PIP_DISABLE_PIP_VERSION_CHECK="1",
                        PYTHONDONTWRITEBYTECODE="1")
        self.env.pop("PYTHONPATH", None)
        self.env.pop("LIBE2E_LIBRARY", None)

    def pip_install_target(self):
        target = os.path.join(self.tmp, "site")
        r = run([PYTHON, "-m", "pip", "install", "--no-build-isolation",
                 "--no-index", "--no-deps", "--target", target, self.src],
                env=self.env)
        if r.returncode != 0 and "No module named pip" in r.stderr:
            self.skipTest("python3-pip is not installed")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return target

    def import_from(self, site, code, python=PYTHON, **env):
        full = dict(self.env, **env)
        if site is not None:
            full["PYTHONPATH"] = site
        # -I would drop PYTHONPATH; run from the temp dir so that no
        # libe2e directory of the current one is imported instead.
        return run([python, "-c", code], env=full, cwd=self.tmp)

    def test_pip_installs_the_package_with_py_typed(self):
        site = self.pip_install_target()
        for name in ("__init__.py", "core.py", "keyfiles.py", "keydist.py",
                     "mqtt.py", "_native.py", "py.typed"):
            self.assertTrue(os.path.isfile(os.path.join(site, "libe2e",
                                                        name)), name)
        dist = [d for d in os.listdir(site) if d.endswith(".dist-info")]
        self.assertEqual(dist, ["libe2e-%s.dist-info"
                                % support.libe2e.__version__])

    def test_installed_package_loads_the_library_of_the_build_tree(self):
        site = self.pip_install_target()
        r = self.import_from(
            site, "import libe2e; print(libe2e.__file__); "
            "print(libe2e.library_path)",
            LIBE2E_BUILDDIR=support.BUILDDIR)
        self.assertEqual(r.returncode, 0, r.stderr)
        where, lib = r.stdout.split()
        self.assertEqual(where, os.path.join(site, "libe2e", "__init__.py"))
        self.assertEqual(lib, support.libe2e.library_path)

    def test_installed_package_without_the_library_says_where_it_looked(self):
        site = self.pip_install_target()
        # No library anywhere: nothing in the environment, and the
        # system's search (find_library, the installed soname) hidden.
        code = ("import ctypes, ctypes.util\n"
                "ctypes.util.find_library = lambda name: None\n"
                "real = ctypes.CDLL.__init__\n"
                "def refuse(self, name, *a, **k):\n"
                "    if 'libe2e' in str(name):\n"
                "        raise OSError(name + ': cannot open shared object')\n"
                "    real(self, name, *a, **k)\n"
                "ctypes.CDLL.__init__ = refuse\n"
                "import libe2e\n")
        env = dict(self.env, PYTHONPATH=site)
        env.pop("LIBE2E_BUILDDIR", None)
        env.pop("top_builddir", None)
        r = run([PYTHON, "-c", code], env=env, cwd=self.tmp)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("LibraryNotFoundError: libe2e shared library "
                      "not found; looked in:", r.stderr)
        self.assertIn("installed name: libe2e.so.0", r.stderr)
        self.assertIn("Set LIBE2E_LIBRARY to the path of libe2e.so", r.stderr)

    def venv_install(self):
        """A venv seeing Debian's packages, with the package installed in
        it as the README says (Debian's pip refuses to install into the
        system: PEP 668); its directory."""
        venv = os.path.join(self.tmp, "venv")
        r = run([PYTHON, "-m", "venv", "--system-site-packages", venv],
                env=self.env)
        if r.returncode != 0 and "ensurepip" in r.stdout + r.stderr:
            self.skipTest("python3-venv is not installed")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        pip = os.path.join(venv, "bin", "pip")
        r = run([pip, "install", "--no-build-isolation", "--no-index",
                 self.src], env=self.env)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return venv

    def test_venv_with_system_site_packages_installs_it_offline(self):
        venv = self.venv_install()
        r = self.import_from(None, "import libe2e; print(libe2e.__file__)",
                             python=os.path.join(venv, "bin", "python"),
                             LIBE2E_BUILDDIR=support.BUILDDIR)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(r.stdout.strip().startswith(venv), r.stdout)

    def mypy(self, *args):
        r = run([PYTHON, "-m", "mypy", "--strict", "--no-incremental",
                 "--cache-dir", os.devnull, *args], env=self.env,
                cwd=self.tmp)
        if "No module named mypy" in r.stderr:
            self.skipTest("python3-mypy is not installed")
        return r

    def test_mypy_strict_accepts_the_package(self):
        r = self.mypy(os.path.join(self.src, "libe2e"))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def mypy_on_installed(self, program):
        """mypy --strict on a program, finding libe2e where pip installed
        it in a venv: mypy uses an installed package only when it ships
        py.typed (PEP 561)."""
        self.mypy("--version")  # skip before building a venv for nothing
        venv = self.venv_install()
        client = os.path.join(self.tmp, "client.py")
        with open(client, "w") as f:
            f.write(program)
        return self.mypy("--python-executable",
                         os.path.join(venv, "bin", "python"), client)

    def test_mypy_strict_accepts_a_program_using_the_installed_package(self):
        r = self.mypy_on_installed(TYPED_CLIENT)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_mypy_catches_a_wrong_type_through_the_hints(self):
        # The check above can fail: a payload of the wrong type is caught.
        r = self.mypy_on_installed(
            "import libe2e\n"
            "libe2e.Sender(libe2e.Keyring()).seal('a/b', 21.5)\n")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn('Argument 2 to "seal" of "Sender" has incompatible '
                      'type "float"', r.stdout)


if __name__ == "__main__":
    support.main()
