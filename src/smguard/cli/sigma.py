"""``smguard export sigma`` and ``smguard import sigma``: the pack's detections as Sigma rules and back."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

FORMATS = ["sigma"]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="export structured detections as Sigma rules (validated with pySigma)",
                       description="Write one Sigma rule (v2) per structured detection, correlation rules for "
                                   "thresholds, and INDEX.md listing what was exported, approximated or refused "
                                   "and why. Every rule is checked with pySigma's validators.")
    p.add_argument("format", choices=FORMATS, help="the rule format (sigma)")
    p.add_argument("--out", default="build/sigma", metavar="DIR", help="output directory (default: build/sigma)")
    p.add_argument("--readme", metavar="FILE",
                   help="also rewrite the exportability table between <!-- sigma:start --> and <!-- sigma:end -->")
    p.set_defaults(func=run_export)

    p = sub.add_parser("import", help="turn Sigma rules for AWS CloudTrail into structured detection YAML",
                       description="Convert Sigma rules (logsource aws/cloudtrail) into detections under "
                                   "detections/<area>/, each with a positive test case generated from the rule's "
                                   "logic for you to complete. A rule that cannot be mapped is reported with "
                                   "the reason; an existing detection file is never overwritten.")
    p.add_argument("format", choices=FORMATS, help="the rule format (sigma)")
    p.add_argument("rules", nargs="+", metavar="RULE.yml", help="Sigma rule files")
    p.add_argument("--enforces", default="monitoring.cloudtrail-enabled", metavar="GUARDRAIL",
                   help="guardrail id from guardrails.yml the imported detections enforce "
                        "(default: monitoring.cloudtrail-enabled; its area picks the folder)")
    p.add_argument("--out", metavar="DIR", help="write here instead of detections/<area>/ of the pack")
    p.set_defaults(func=run_import)


def run_export(args: argparse.Namespace) -> int:
    from smguard.model import load_pack
    from smguard.sigma.export import export_pack, write_exports
    from smguard.sigma.validate import validate_rule_text

    pack = load_pack(args.pack)
    exports = export_pack(pack)
    problems = 0
    for e in exports:
        if not e.exported:
            continue
        for issue in validate_rule_text(e.text()):
            problems += 1
            print(f"{e.detection.path}: Sigma validation: {issue}", file=sys.stderr)
    if problems:
        print(f"{problems} validation problem(s): nothing written", file=sys.stderr)
        return 1
    out = Path(args.out)
    written = write_exports(exports, out)
    if args.readme:
        from smguard.sigma.export import index_markdown
        from smguard.testing.coverage import replace_block

        path = Path(args.readme)
        path.write_text(replace_block(path.read_text(), "sigma", index_markdown(exports, compact=True)))
    done = sum(e.exported for e in exports)
    print(f"{done} of {len(exports)} detections exported to {out}/ ({len(written) - 1} files); "
          f"{len(exports) - done} raw-SPL detections listed with their reason in {out / 'INDEX.md'}")
    return 0


def run_import(args: argparse.Namespace) -> int:
    from smguard.errors import SmguardError
    from smguard.model.stories import load_stories
    from smguard.sigma.importer import import_files, write_detection

    area = args.enforces.split(".")[0]
    stories = load_stories(Path(args.pack) / "analytic_stories.yml")
    story = next((s.name for s in stories.values() if s.area == area), None)
    if story is None:
        raise SmguardError(f"analytic_stories.yml has no story for area {area!r} (from --enforces {args.enforces})")
    results = import_files([Path(r) for r in args.rules], enforces=args.enforces, story=story)
    failed = 0
    for res in results:
        if res.detection is None:
            failed += 1
            for problem in res.problems:
                print(problem, file=sys.stderr)
            continue
        area = res.detection["guardrail"]["area"]
        target_dir = Path(args.out) if args.out else Path(args.pack) / "detections" / area
        path = write_detection(res.detection, target_dir)
        if path is None:
            failed += 1
            print(f"{res.path}: not written: {target_dir} already has a detection of that name", file=sys.stderr)
        else:
            print(f"{res.path} -> {path}")
    print(f"{len(results) - failed} of {len(results)} rule(s) imported")
    return 1 if failed else 0
