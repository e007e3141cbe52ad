"""Views and navigation shipped with the app: an overview dashboard for the SOC."""

from __future__ import annotations

from xml.sax.saxutils import escape

from smguard.model import Pack


def dashboard(pack: Pack) -> str:
    s = pack.settings
    src = escape(f'source="{s.prefix} - * - Rule"')
    return f"""<dashboard version="1.1" theme="light">
  <label>SageMaker Guardrails Overview</label>
  <description>Notables and risk raised by the {escape(s.label)} correlation searches.</description>
  <row>
    <panel>
      <title>Notables by correlation search (last 7 days)</title>
      <table>
        <search>
          <query>index=notable {src} | stats count latest(_time) as latest by source | convert ctime(latest) | sort - count</query>
          <earliest>-7d@d</earliest>
          <latest>now</latest>
        </search>
      </table>
    </panel>
    <panel>
      <title>Risk by object (last 7 days)</title>
      <table>
        <search>
          <query>index=risk {src} | stats sum(risk_score) as risk_score dc(source) as detections by risk_object risk_object_type | sort - risk_score | head 20</query>
          <earliest>-7d@d</earliest>
          <latest>now</latest>
        </search>
      </table>
    </panel>
  </row>
</dashboard>
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
