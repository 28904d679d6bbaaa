#!/usr/bin/env python3
"""Adds up the individual checks in meson test logs (GoogleTest cases and
the integration scripts' 'N passed, N failed' lines) and prints one line:
'tests: N passed, N failed'. Exits 1 if any failed or nothing ran."""
import json
import re
import sys

passed = failed = 0
for path in sys.argv[1:]:
    for line in open(path):
        t = json.loads(line)
        out = t.get("stdout") or ""
        ok = t.get("result") == "OK"
        m = re.search(r"\[==========\] (\d+) tests? from .* ran", out)
        f = re.search(r"\[  FAILED  \] (\d+) tests?, listed below", out)
        scripts = re.findall(r"^\w+: (\d+) passed, (\d+) failed$", out, re.M)
        if m:
            n = int(m.group(1))
            nf = int(f.group(1)) if f else (0 if ok else 1)
            passed += n - nf
            failed += nf
        elif scripts:
            for p, fl in scripts:
                passed += int(p)
                failed += int(fl)
            if not ok and not any(int(fl) for _, fl in scripts):
                failed += 1
        else:
            passed += 1 if ok else 0
            failed += 0 if ok else 1
print(f"tests: {passed} passed, {failed} failed")
sys.exit(0 if failed == 0 and passed > 0 else 1)
