"""Live Splunk: push the pack to a real server and prove its detections there.

Everything offline (``compile``, ``package``, ``spl``, ``testing``) stays the source of
truth; this package only moves what those produce onto a server through splunk-sdk:

- :mod:`.connection` turns a URL plus credentials (flags or ``SPLUNK_*`` env) into a
  logged-in ``splunklib.client.Service`` bound to the target app namespace;
- :mod:`.rest` holds the few REST calls (objects in this app only, KV store records, oneshot);
- :mod:`.deploy` plans the app's knowledge objects (macros, KV collections, lookup files,
  transforms, correlation searches) from the same conf writers the packaged app uses, and
  applies the plan without overwriting what it did not write: the SOC's tuning is never
  written, objects changed on the server are conflicts (:mod:`.manifest` records what deploy
  wrote; :mod:`.backup` saves what ``--force`` overwrites and restores it);
- :mod:`.pull` brings the SOC's tuning back into the repo;
- :mod:`.hec` sends CloudTrail records to the HTTP Event Collector;
- :mod:`.live` runs each detection test case on the server: its records go to HEC under a
  per-run ``source``, and the detection's compiled search runs restricted to that source.

splunklib is imported lazily inside functions so ``smguard --help`` stays fast.
"""
