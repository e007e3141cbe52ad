"""pySigma's own checks on a rule file: it parses, resolves, converts, and passes the validators.

pySigma's ATT&CK, D3FEND and other tag validators load MITRE's data over the network on
first use; this project runs offline, so those are replaced by a check of the tag's form
(``attack.tNNNN`` or ``attack.tNNNN.NNN``). ``number_as_string`` is left out on purpose:
CloudTrail writes API members typed String as JSON strings even when they hold digits
(``minimumInstanceMetadataServiceVersion: "2"``), so the exported value is a string because
the record's is. Every other validator pySigma ships runs.
"""

from __future__ import annotations

import re
from typing import Any

_TAG = re.compile(r"^attack\.t\d{4}(\.\d{3})?$")


def _validators() -> list[Any]:
    from sigma.validators.core import validators

    return [cls for name, cls in sorted(validators.items()) if "tag" not in name and name != "number_as_string"]


def validate_rule_text(text: str) -> list[str]:
    """Every issue pySigma (and the offline tag check) finds in a rule file, as one line each."""
    from sigma.collection import SigmaCollection
    from sigma.exceptions import SigmaError
    from sigma.validation import SigmaValidator

    try:
        collection = SigmaCollection.from_yaml(text)
        collection.resolve_rule_references()
    except SigmaError as exc:
        return [f"pySigma cannot load the rule: {exc}"]
    validator = SigmaValidator(_validators())
    issues = []
    for rule in collection:
        issues += [f"{type(i).__name__}: {i.description}" for i in validator.validate_rule(rule)]
        issues += [f"tag {t} is not an ATT&CK technique tag" for t in getattr(rule, "tags", [])
                   if str(t).startswith("attack.t") and not _TAG.match(str(t))]
    issues += [f"{type(i).__name__}: {i.description}" for i in validator.finalize()]
    return issues
