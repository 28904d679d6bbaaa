#!/usr/bin/env python3
"""Adds up the individual checks in meson test logs (GoogleTest cases and
the integration scripts' 'N passed, N failed' lines) and prints one line:
'tests: N passed, N failed, N skipped'. Benchmark smoke runs (bench-*) are
not tests: they are listed apart, and fail the count only when they fail.
A skip (exit 77) is a skip, not a pass. Exits 1 if any failed or nothing
ran."""
import json
import re
import sys

passed = failed = skipped = 0
bench_ok = []
for path in sys.argv[1:]:
    for line in open(path):
        t = json.loads(line)
        out = t.get("stdout") or ""
        ok = t.get("result") == "OK"
        if t.get("result") == "SKIP":
            skipped += 1
            print(f"skipped: {t.get('name')}: {out.strip().splitlines()[-1] if out.strip() else ''}")
            continue
        name = t.get("name", "").split(" / ")[-1]  # "project:suite / name"
        if name.startswith("bench"):
            if ok:
                bench_ok.append(name)
            else:
                failed += 1
            continue
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
if bench_ok:
    print(f"benchmark smoke runs (not counted): {', '.join(bench_ok)} ok")
print(f"tests: {passed} passed, {failed} failed, {skipped} skipped")
sys.exit(0 if failed == 0 and passed > 0 else 1)
