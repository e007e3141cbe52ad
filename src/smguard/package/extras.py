"""Views and navigation shipped with the app: the SOC's overview dashboard (Simple XML).

The dashboard shows live what ``smguard report`` shows offline: notables and risk by
guardrail area and by detection, alert volume per day, and the top risk objects, from
Enterprise Security's ``notable`` and ``risk`` indexes. The area of a correlation search is
written into the searches as an ``eval … case()`` generated from the pack, so the dashboard
needs no lookup of its own. Every query is SPL our engine parses (a test checks it).
"""

from __future__ import annotations

from xml.sax.saxutils import escape

from smguard.compile.confs import rule_name
from smguard.compile.quoting import dq
from smguard.model import Pack

AREAS = ("iam", "network", "data", "monitoring", "deployment", "cost")


def area_eval(pack: Pack) -> str:
    """``eval guardrail_area=case(source=…, "iam", …)`` for every detection of the pack."""
    pairs = ", ".join(f"source={dq(rule_name(pack, d))}, {dq(d.area)}"
                      for d in sorted(pack.detections, key=lambda d: d.name))
    return f'eval guardrail_area=case({pairs}, true(), "unknown")'


def queries(pack: Pack) -> dict[str, str]:
    """Panel id → SPL (before XML escaping): what the dashboard runs."""
    src = f'source="{pack.settings.prefix} - * - Rule"'
    area = area_eval(pack)
    return {
        "notables_by_area": f"index=notable {src} | {area} | stats count by guardrail_area | sort - count",
        "risk_by_area": f"index=risk {src} | {area} | stats sum(risk_score) as risk_score dc(risk_object) as "
                        "risk_objects by guardrail_area | sort - risk_score",
        "notables_per_day": f"index=notable {src} | bin _time span=1d | stats count by _time",
        "notables_by_detection": f"index=notable {src} | {area} | stats count latest(_time) as latest by "
                                 "guardrail_area source | convert ctime(latest) | sort - count",
        "top_risk_objects": f"index=risk {src} | stats sum(risk_score) as risk_score dc(source) as detections "
                            "values(source) as sources by risk_object risk_object_type | sort - risk_score | head 20",
    }


def _panel(title: str, kind: str, query: str, options: str = "") -> str:
    return f"""    <panel>
      <title>{escape(title)}</title>
      <{kind}>
        <search>
          <query>{escape(query)}</query>
          <earliest>$period.earliest$</earliest>
          <latest>$period.latest$</latest>
        </search>{options}
      </{kind}>
    </panel>"""


def dashboard(pack: Pack) -> str:
    q = queries(pack)
    pie = '\n        <option name="charting.chart">pie</option>'
    column = '\n        <option name="charting.chart">column</option>\n        <option name="charting.legend.placement">none</option>'
    bar = '\n        <option name="charting.chart">bar</option>'
    return f"""<form version="1.1" theme="light">
  <label>SageMaker Guardrails Overview</label>
  <description>Notables and risk raised by the {escape(pack.settings.label)} correlation searches, by guardrail area and detection.</description>
  <fieldset submitButton="false">
    <input type="time" token="period">
      <label>Period</label>
      <default>
        <earliest>-7d@d</earliest>
        <latest>now</latest>
      </default>
    </input>
  </fieldset>
  <row>
{_panel("Notables by guardrail area", "chart", q["notables_by_area"], pie)}
{_panel("Risk by guardrail area", "chart", q["risk_by_area"], bar)}
  </row>
  <row>
{_panel("Alert volume per day", "chart", q["notables_per_day"], column)}
  </row>
  <row>
{_panel("Notables by detection", "table", q["notables_by_detection"])}
{_panel("Top risk objects", "table", q["top_risk_objects"])}
  </row>
</form>
"""


NAV = """<nav search_view="search">
  <view name="smguard_overview" default="true" />
  <view name="search" />
</nav>
"""


def extra_files(pack: Pack) -> dict[str, str]:
    return {
        "default/data/ui/views/smguard_overview.xml": dashboard(pack),
        "default/data/ui/nav/default.xml": NAV,
    }
