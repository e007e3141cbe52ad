"""Write the pack as Splunk .conf text: savedsearches, macros, transforms.

Output is a pure function of the pack (sorted stanzas, JSON with fixed key order) so
two builds give byte-identical files.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from smguard.compile.search import soc_lookup
from smguard.model.entities import Detection

if TYPE_CHECKING:
    from smguard.model import Pack

ES_RAW_DRILLDOWN = "View the raw CloudTrail events behind this alert"


def conf_value(value: str) -> str:
    """Conf values are single lines; a trailing backslash would join the next line."""
    text = " ".join(str(value).split())
    return text + " " if text.endswith("\\") else text


def _stanza(name: str, pairs: list[tuple[str, Any]]) -> str:
    lines = [f"[{name}]"]
    for key, value in pairs:
        lines.append(f"{key} = {conf_value(value)}")
    return "\n".join(lines) + "\n"


def _json(obj: Any) -> str:
    return json.dumps(obj, separators=(", ", ": "), ensure_ascii=False)


def severity(score: int) -> str:
    """Splunk content's severity from the highest risk score."""
    for limit, name in ((20, "informational"), (40, "low"), (60, "medium"), (80, "high")):
        if score <= limit:
            return name
    return "critical"


def rule_name(pack: Pack, det: Detection) -> str:
    return f"{pack.settings.prefix} - {det.name} - Rule"


def drilldowns(pack: Pack, det: Detection) -> list[dict[str, str]]:
    """The detection's drilldowns; by default one per risk object plus the raw events."""
    if det.data.get("drilldown_searches"):
        return [
            {"name": d["name"], "search": d["search"],
             "earliest_offset": str(d.get("earliest_offset", "$info_min_time$")),
             "latest_offset": str(d.get("latest_offset", "$info_max_time$"))}
            for d in det.data["drilldown_searches"]
        ]
    out = []
    for ro in det.data["rba"]["risk_objects"]:
        f = ro["field"]
        out.append({
            "name": f'View the detection results for - "${f}$"',
            "search": f'%original_detection_search% | search {f} = "${f}$"',
            "earliest_offset": "$info_min_time$", "latest_offset": "$info_max_time$",
        })
    out.append({
        "name": ES_RAW_DRILLDOWN,
        "search": f"`{pack.settings.base_macro}` eventID IN ($eventID$)",
        "earliest_offset": "$info_min_time$", "latest_offset": "$info_max_time$",
    })
    return out


def savedsearch_pairs(pack: Pack, det: Detection) -> list[tuple[str, Any]]:
    """One ES correlation search, keys in the order Splunk's content build writes them."""
    d = det.data
    rba = d["rba"]
    tags = d["tags"]
    risk = [{"risk_object_field": r["field"], "risk_object_type": r["type"], "risk_score": r["score"]}
            for r in rba["risk_objects"]]
    risk += [{"threat_object_field": t["field"], "threat_object_type": t["type"]} for t in rba.get("threat_objects", [])]
    top = max(r["score"] for r in rba["risk_objects"])
    annotations = {
        "analytic_story": tags["analytic_story"],
        "cis20": tags.get("cis20", []),
        "confidence": top,
        "data_source": d["data_source"],
        "guardrail": det.enforces,
        "impact": top,
        "mitre_attack": tags.get("mitre_attack_id", []),
        "atlas": tags.get("atlas_id", []),
        "nist": tags.get("nist", ["DE.CM"]),
        "type": d["type"],
    }
    metadata = {"detection_id": det.id, "detection_version": str(det.version),
                "deprecated": "1" if d["status"] == "deprecated" else "0", "publish_time": 0}
    sched = det.schedule
    nes = [r["field"] for r in rba["risk_objects"]] + [t["field"] for t in rba.get("threat_objects", [])]
    pairs: list[tuple[str, Any]] = [
        ("description", d["description"]),
        ("action.risk", 1),
        ("action.risk.param._risk_message", rba["message"]),
        ("action.risk.param._risk", _json(risk)),
        ("action.risk.param._risk_score", 0),
        ("action.risk.param.verbose", 0),
        ("cron_schedule", sched.cron),
        ("dispatch.earliest_time", sched.earliest),
        ("dispatch.latest_time", sched.latest),
        ("schedule_window", "auto"),
        ("action.correlationsearch.enabled", 1),
        ("action.correlationsearch.detection_type", "ebd"),
        ("action.correlationsearch.label", rule_name(pack, det)),
        ("action.correlationsearch.annotations", _json(annotations)),
        ("action.correlationsearch.metadata", _json(metadata)),
        ("action.notable", 1),
        ("action.notable.param.nes_fields", ",".join(dict.fromkeys(nes))),
        ("action.notable.param.rule_description", d["description"]),
        ("action.notable.param.rule_title", f"{det.name}: {rba['message']}"),
        ("action.notable.param.security_domain", tags["security_domain"]),
        ("action.notable.param.severity", severity(top)),
        ("action.notable.param.drilldown_searches", _json(drilldowns(pack, det))),
        ("alert.digest_mode", 1),
        ("disabled", "false" if d["status"] == "production" else "true"),
        ("enableSched", 1),
        ("allow_skew", "100%"),
        ("counttype", "number of events"),
        ("relation", "greater than"),
        ("quantity", 0),
        ("realtime_schedule", 0),
        ("is_visible", "false"),
    ]
    thr = det.throttling
    if thr:
        pairs += [("alert.suppress", 1), ("alert.suppress.fields", ",".join(thr.fields)),
                  ("alert.suppress.period", thr.period)]
    pairs.append(("search", pack.compiled(det).spl))
    return pairs


def savedsearches_conf(pack: Pack) -> str:
    dets = sorted(pack.detections, key=lambda d: d.name)
    header = f"### {pack.settings.label}: correlation searches generated by smguard; edit the YAML, not this file ###\n\n"
    return header + "\n".join(_stanza(rule_name(pack, d), savedsearch_pairs(pack, d)) for d in dets)


def macros_conf(pack: Pack) -> str:
    parts = []
    for stanza in sorted(pack.macros):
        m = pack.macros[stanza]
        pairs: list[tuple[str, Any]] = [("definition", m.definition), ("description", m.description)]
        if m.args:
            pairs.insert(0, ("args", ", ".join(m.args)))
        parts.append(_stanza(stanza, pairs))
    return "\n".join(parts)


def _match_pairs(lk: Any) -> list[tuple[str, Any]]:
    """match_type and the match-count keys, the same for an allow-list's CSV and KV store parts."""
    pairs: list[tuple[str, Any]] = []
    special = [f"{t}({c})" for c, t in sorted(lk.match_type.items()) if t != "EXACT"]
    if special:
        pairs.append(("match_type", ", ".join(special)))
    for key in ("max_matches", "min_matches", "default_match"):
        if getattr(lk, key) is not None:
            pairs.append((key, getattr(lk, key)))
    return pairs


def transforms_conf(pack: Pack) -> str:
    """CSV lookups, plus for every allow-list the KV store lookup ``<name>_soc`` of the SOC's entries.

    KV store stanza keys per the transforms.conf spec ("KV Store lookup" settings:
    ``external_type = kvstore``, ``collection``, ``fields_list`` with ``_key``),
    https://help.splunk.com/en/data-management/splunk-enterprise-admin-manual/10.0/10.0.0-configuration-file-reference/transforms.conf ;
    the field matching rules (``match_type`` WILDCARD/CIDR, ``max_matches``...) "can be applied
    to all four lookup types", KV store included, while ``case_sensitive_match`` "does not apply to
    KV Store lookups" (KV store lookups match case-sensitively), so it is not written there:
    https://help.splunk.com/en/splunk-enterprise/manage-knowledge-objects/knowledge-management-manual/9.1/use-the-configuration-files-to-configure-lookups/add-field-matching-rules-to-your-lookup-configuration
    """
    tunable = {lk.name for lk in pack.allow_lists()}
    parts = []
    for name in sorted(pack.lookups):
        lk = pack.lookups[name]
        pairs: list[tuple[str, Any]] = [
            ("filename", lk.filename),
            ("case_sensitive_match", "true" if lk.case_sensitive_match else "false"),
        ]
        parts.append(_stanza(name, pairs + _match_pairs(lk)))
        if name in tunable:
            soc = soc_lookup(name)
            parts.append(_stanza(soc, [("external_type", "kvstore"), ("collection", soc),
                                       ("fields_list", ", ".join(("_key", *lk.fields)))] + _match_pairs(lk)))
    return "\n".join(parts)


def collections_conf(pack: Pack) -> str:
    """One KV store collection per allow-list for the SOC's own entries (``<name>_soc``).

    Splunk keeps KV store data across app upgrades (it is not a file in the app directory),
    which is why the SOC's exceptions live here and not in the shipped CSV. Spec:
    https://help.splunk.com/en/data-management/splunk-enterprise-admin-manual/10.0/10.0.0-configuration-file-reference/collections.conf
    """
    parts = []
    for lk in pack.allow_lists():
        pairs: list[tuple[str, Any]] = [("enforceTypes", "false")]
        pairs += [(f"field.{f}", "string") for f in lk.fields]
        parts.append(_stanza(soc_lookup(lk.name), pairs))
    return "\n".join(parts)


def analyticstories_conf(pack: Pack) -> str:
    """ES Use Case Library stories, in the stanza format Splunk's ESCU app ships."""
    parts = []
    for name in sorted(pack.stories):
        story = pack.stories[name]
        searches = sorted(rule_name(pack, d) for d in pack.detections if name in d.data["tags"]["analytic_story"])
        parts.append(_stanza(f"analytic_story://{name}", [
            ("category", "Cloud Security"),
            ("last_updated", max((d.data["date"] for d in pack.detections), default="")),
            ("version", 1),
            ("references", _json([])),
            ("maintainers", _json([{"company": pack.settings.author, "email": "-", "name": pack.settings.author}])),
            ("spec_version", 3),
            ("searches", _json(searches)),
            ("description", story.description),
            ("narrative", story.narrative),
            ("guardrail_area", story.area),
        ]))
    return "\n".join(parts)


ANALYTICSTORIES_SPEC = """# analyticstories.conf: analytic stories for Enterprise Security's Use Case Library,
# in the format Splunk's ES Content Update app uses.

[analytic_story://<name>]
category = <string>
last_updated = <string>
version = <integer>
references = <JSON list>
maintainers = <JSON list>
spec_version = <integer>
searches = <JSON list of correlation search names>
description = <string>
narrative = <string>
guardrail_area = <string>
"""
