"""Print each differential scenario's observation against the probe node (for review)."""
import json
import sys

sys.path.insert(0, "/work/main")
sys.path.insert(0, "/work/main/tests")
from tests.differential.scenarios import SCENARIOS  # noqa: E402

url = open("/tmp/probe_url").read().strip()
only = sys.argv[1:]
for sc in SCENARIOS:
    if only and sc.name not in only:
        continue
    obs = sc.observe(url)
    bad = {k: [sc.expected.get(k), v] for k, v in obs.items() if sc.expected.get(k) != v}
    missing = [k for k in sc.expected if k not in obs]
    print(f"== {sc.name}: {'OK' if not bad and not missing else 'DIFF'}")
    for k, (e, o) in bad.items():
        print(f"  {k}:\n    expected {json.dumps(e)}\n    observed {json.dumps(o)}")
    for k in missing:
        print(f"  {k}: missing")
