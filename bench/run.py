"""Run every benchmark module and write ``reports/bench.json`` and ``reports/bench.md``.

Each ``bench/bench_<area>.py`` exposes ``run() -> dict`` returning::

    {"title": str,                 # section heading
     "rows": [dict, ...],          # one table row per measurement (same keys in every row)
     "notes": [str, ...]}          # optional: targets met or missed, ratios, context

Usage: ``python -m bench.run [area ...]`` (default: all areas).
"""
from __future__ import annotations

import argparse
import importlib
import json
import platform
import sys
import time
from pathlib import Path

REPORT_DIR = Path(__file__).resolve().parents[1] / "reports"


def _markdown_table(rows: list[dict]) -> str:
    if not rows:
        return "_no rows_\n"
    keys = list(rows[0])
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    for row in rows:
        cells = [f"{row.get(k):.4g}" if isinstance(row.get(k), float) else str(row.get(k)) for k in keys]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def available_areas() -> list[str]:
    return sorted(p.stem.removeprefix("bench_") for p in Path(__file__).parent.glob("bench_*.py"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("areas", nargs="*", help=f"subset of {available_areas()}")
    args = parser.parse_args(argv)
    areas = args.areas or available_areas()
    unknown = sorted(set(areas) - set(available_areas()))
    if unknown:
        parser.error(f"unknown benchmark area(s) {unknown}; available: {available_areas()}")

    report = {"machine": {"python": sys.version.split()[0], "platform": platform.platform(),
                          "processor": platform.processor()},
              "started": time.strftime("%Y-%m-%dT%H:%M:%S"), "sections": {}}
    md = [f"# fetrack_ros benchmarks\n\n{report['started']}, {report['machine']['platform']}\n"]
    for area in areas:
        print(f"[bench] {area} ...", flush=True)
        section = importlib.import_module(f"bench.bench_{area}").run()
        report["sections"][area] = section
        md.append(f"\n## {section['title']}\n\n{_markdown_table(section['rows'])}")
        md.extend(f"- {note}\n" for note in section.get("notes", []))
        print(_markdown_table(section["rows"]), *section.get("notes", []), sep="\n", flush=True)
    REPORT_DIR.mkdir(exist_ok=True)
    (REPORT_DIR / "bench.json").write_text(json.dumps(report, indent=2))
    (REPORT_DIR / "bench.md").write_text("".join(md))
    print(f"[bench] report written to {REPORT_DIR / 'bench.md'} and bench.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
