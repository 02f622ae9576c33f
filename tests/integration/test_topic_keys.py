#!/usr/bin/python3 -B
"""Per-topic keys through the tools and a real mosquitto (issue 12 item 4,
docs/ENVELOPE.md step 2, docs/KEYFILES.md): `e2e-keygen keyring rotate
--topics FILTERS` makes a primary key for those topics only; e2e-pub seals
each topic with the primary of the first scope whose filters match it,
else with the keyring's own primary; e2e-sub refuses a key used on a topic
outside its filters as `key-topic` — a tenant that holds only its own key
cannot write into another tenant's topics.

Environment: as test_cli.py (make check exports it).
"""

import json
import os
import shutil
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from test_cli import CliCase, keygen  # noqa: E402


class TopicKeys(CliCase):

    def setUp(self):
        super().setUp()
        self.site_id = keygen("keyring", "list", "-K",
                              self.keyring).split()[0]
        # A member given the site's key only (before the tenant's exists).
        self.site_only = self.path("site.keyring")
        shutil.copy(self.keyring, self.site_only)
        os.chmod(self.site_only, 0o600)
        self.tenant_id = keygen("keyring", "rotate", "-K", self.keyring,
                                "--topics", "tenant-a/#")

    def test_publisher_seals_each_topic_with_the_key_of_its_scope(self):
        sub = self.start_sub("-t", "tenant-a/#", "-t", "site/#", "--json",
                             "-C", "2")
        self.pub("-t", "tenant-a/meter", "-m", "1")
        self.pub("-t", "site/door", "-m", "open")
        self.assertEqual(sub.finish(), 0, "\n".join(sub.err_lines))
        ids = {json.loads(ln)["topic"]: json.loads(ln)["key_id"]
               for ln in sub.out.splitlines()}
        self.assertEqual(ids, {"tenant-a/meter": self.tenant_id,
                               "site/door": self.site_id})

    def test_a_key_used_outside_its_topics_is_refused_as_key_topic(self):
        # The tenant's copy: only its own key, which the tenant (who can
        # edit its file) uses as a plain primary on another's topic.
        tenant_ring = self.path("tenant.keyring")
        with open(self.keyring) as f:
            lines = f.read().splitlines()
        with open(tenant_ring, "w") as f:
            for ln in lines:
                fields = ln.split()
                if fields and fields[0] == self.site_id:
                    continue
                f.write(" ".join(x for x in fields
                                 if not x.startswith("topics=")) + "\n")
        os.chmod(tenant_ring, 0o600)
        sub = self.start_sub("-t", "site/#", "-v")
        self.pub("-t", "site/door", "-m", "forged", "-K", tenant_ring,
                 keyring=False)
        self.assertRejected(sub.wait_stderr(" rejected ")[0], "site/door",
                            "key-topic")
        self.pub("-t", "site/door", "-m", "genuine")
        self.assertEqual(sub.wait_lines(1), [b"site/door genuine"])

    def test_a_subscriber_without_the_tenant_key_refuses_tenant_topics(self):
        sub = self.start_sub("-t", "tenant-a/#", "-v", "-K", self.site_only,
                             keyring=False)
        self.pub("-t", "tenant-a/meter", "-m", "1")
        self.assertRejected(sub.wait_stderr(" rejected ")[0],
                            "tenant-a/meter", "unknown-key")


if __name__ == "__main__":
    unittest.main()
