"""Build one CloudTrail record from an event shape, a principal, a client and a context.

The baseline and the scenarios both come through :func:`build_record`, so a scenario's
``CreateNotebookInstance`` has exactly the shape of the baseline's. The context is lazy:
a template asks for ``$notebook`` and :data:`VARS` picks one from the baseline on first use,
so a record only pays for the variables its shape mentions.

Time-dependent values (``eventTime``, session ``creationDate``, STS expirations) and ids
can be *slots*: the fast baseline path builds a record once with sentinel strings, turns it
into JSON once, and fills only the slots per emitted record (see :mod:`.stream`).
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import random
import re
import urllib.parse
import zlib
from collections.abc import Callable
from typing import Any

from smguard.generate import catalog, ids
from smguard.generate.catalog import EventSpec
from smguard.generate.model import Baseline, Principal

_INTERP = re.compile(r"\$\{([a-z_0-9]+)\}")


class UnknownVariable(KeyError):
    """A template asked for a context variable nobody defines (a catalog bug)."""


class Ctx(dict[str, Any]):
    """Context variables for one call, computed on first use from the baseline."""

    def __init__(self, baseline: Baseline, rng: random.Random, account: str, region: str,
                 principal: Principal | None, when: dt.datetime | None, **preset: Any):
        super().__init__(preset)
        self.baseline = baseline
        self.d = baseline.data
        self.rng = rng
        self.principal = principal
        self.when = when
        self.setdefault("account", account)
        self.setdefault("region", region)

    def __missing__(self, key: str) -> Any:
        fn = VARS.get(key)
        if fn is None:
            raise UnknownVariable(key)
        value = fn(self)
        self[key] = value
        return value


def resolve(t: Any, ctx: Ctx) -> Any:
    """Fill a template: ``"$var"`` becomes the value, ``"${var}"`` is interpolated."""
    if isinstance(t, str):
        if t.startswith("$") and not t.startswith("${") and t[1:].isidentifier():
            return ctx[t[1:]]
        if "${" in t:
            return _INTERP.sub(lambda m: str(ctx[m.group(1)]), t)
        return t
    if isinstance(t, dict):
        return {k: resolve(v, ctx) for k, v in t.items()}
    if isinstance(t, list):
        return [resolve(v, ctx) for v in t]
    return t


def mdy(t: dt.datetime) -> str:
    """The ``Nov 26, 2026, 10:42:11 AM`` style IAM/STS use inside response elements."""
    return f"{t:%b} {t.day}, {t.year}, {(t.hour % 12) or 12}:{t:%M:%S} {'AM' if t.hour < 12 else 'PM'}"


def iso(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _policy(actions: list[str], resources: list[str]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": resources}]}


def urlencoded_json(obj: Any) -> str:
    """URL-encoded JSON, the form IAM *API responses* use (GetRolePolicy and friends)."""
    return urllib.parse.quote(json.dumps(obj, separators=(",", ":")), safe="")


def policy_json(obj: Any) -> str:
    """A policy document as CloudTrail records it in IAM requestParameters: the JSON text the
    caller sent, as a string (public parsers and Splunk's ESCU ``spath`` it directly)."""
    return json.dumps(obj, indent=4)


def _exec_role(c: Ctx, key: str) -> str:
    er = c.d["execution_roles"].get(key) or next(iter(c.d["execution_roles"].values()))
    return f"arn:aws:iam::{c['account']}:role{er.get('path', '/')}{er['role']}"


def _bucket(c: Ctx, hint: str) -> str:
    approved = c.d["buckets"]["approved"]
    for b in approved:
        if hint in b:
            return b
    return c.rng.choice(approved)


def _kms(c: Ctx) -> dict[str, str]:
    if "_kms" not in c:
        c["_kms"] = c.rng.choice(c.d["kms_keys"])
    return c["_kms"]


def kms_key_for(c: Ctx, ref: str) -> dict[str, str]:
    """The key a ``keyId`` names: a key id, a key ARN, an alias name or an alias ARN.

    Baseline keys are found by id or alias; an unknown key id or key ARN stands for itself
    (in the ARN's account and region); an unknown alias gets a key id derived from its name,
    so the same alias always resolves to the same key.
    """
    ref = str(ref)
    arn_account, arn_region = c["account"], c["region"]
    tail = ref
    if ref.startswith("arn:"):
        parts = ref.split(":", 5)
        if len(parts) == 6:
            arn_region, arn_account, tail = parts[3] or arn_region, parts[4] or arn_account, parts[5]
    for k in c.d["kms_keys"]:
        if tail in (k["id"], f"key/{k['id']}", k["alias"]):
            return {"id": k["id"], "alias": k["alias"], "account": arn_account, "region": arn_region}
    if tail.startswith("key/"):
        tail = tail[len("key/"):]
    if tail.startswith("alias/"):
        import hashlib

        h = hashlib.sha256(f"kms-alias:{arn_account}:{tail}".encode()).hexdigest()
        return {"id": f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:32]}",
                "alias": tail, "account": arn_account, "region": arn_region}
    return {"id": tail, "alias": "", "account": arn_account, "region": arn_region}


def bind_kms_key(c: Ctx, ref: str) -> None:
    """Make ``$kms_key_id`` / ``$kms_key_arn`` name the key a request names."""
    key = kms_key_for(c, ref)
    c["_kms"] = key
    c["kms_key_id"] = key["id"]
    c["kms_key_arn"] = f"arn:aws:kms:{key['region']}:{key['account']}:key/{key['id']}"


def _trail(c: Ctx) -> dict[str, str]:
    return c.d["resources"]["trails"][0]


def _object_key(c: Ctx) -> str:
    proj = c["project"]
    kind = c.rng.random()
    if kind < 0.6:
        return f"datasets/{proj}/train/part-{c.rng.randrange(2000):05d}.parquet"
    if kind < 0.85:
        return f"features/{proj}/{c.rng.randrange(2024, 2027)}/{c.rng.randrange(1, 13):02d}/batch-{ids.hexstr(c.rng, 8)}.parquet"
    return f"models/{proj}/model-{c.rng.randrange(1, 40)}.tar.gz"


def _bytes_out(c: Ctx) -> int:
    # Training shards are a few MB; people read smaller files.
    mu = 15.2 if c.principal is not None and c.principal.kind == "execution_roles" else 12.5
    return int(min(c.rng.lognormvariate(mu, 1.0), 2.5e8))


def _when(c: Ctx) -> dt.datetime:
    return c.when or dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def _job_name(c: Ctx, kind: str) -> str:
    """Job names carry their start time when there is one (scenarios); prototypes are reused
    across hours, so theirs must not pretend to a date."""
    if c.when is None:
        return f"{c['project']}-{kind}-{ids.hexstr(c.rng, 8)}"
    return f"{c['project']}-{kind}-{c.when:%Y%m%d-%H%M}-{ids.hexstr(c.rng, 4)}"


def _model_project(c: Ctx) -> str:
    """The project a model belongs to, read from its name (``churn-xgb-v12`` → ``churn``),
    so CreateModel's name, container image and tags agree."""
    model = str(c["model"])
    for proj in sorted(c.d.get("projects", []), key=len, reverse=True):
        if model == proj or model.startswith(f"{proj}-"):
            return proj
    return c["project"]


def _stable_hex(seed: str, n: int, alphabet: str = "0123456789abcdef") -> str:
    """An id that is the same every time for one thing (an account's REST API, its owner id)."""
    import hashlib

    digest = hashlib.sha256(seed.encode()).digest() * (1 + n // 32)
    return "".join(alphabet[b % len(alphabet)] for b in digest[:n])


def _stable_uuid(seed: str) -> str:
    h = _stable_hex(seed, 32)
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"


def _target_role(c: Ctx) -> dict[str, str]:
    if "_target" not in c:
        roles = c.baseline.principals["execution_roles"]
        p = c.rng.choice(roles)
        c["_target"] = {"arn": _exec_role(c, p.attrs["key"]), "name": p.attrs["role"], "id": p.attrs["role_id"]}
    return c["_target"]


VARS: dict[str, Callable[[Ctx], Any]] = {
    "partition": lambda c: "aws",
    "project": lambda c: c.rng.choice(c.d.get("projects", ["ml"])),
    "environment": lambda c: c.rng.choice(c.d.get("environments", ["Dev"])),
    "cost_centre": lambda c: f"CC-{c.rng.randrange(1000, 9999)}",
    "notebook": lambda c: c.rng.choice(c.d["resources"]["notebooks"]),
    "lcc": lambda c: c.d["resources"]["lifecycle_configs"][0],
    "lcc_script": lambda c: "IyEvYmluL2Jhc2gKc2V0IC1lCiMgYXV0by1zdG9wIGlkbGUgbm90ZWJvb2tzIGFmdGVyIDEgaG91cgpwaXAgaW5zdGFsbCAtcSBhdXRvc3RvcA==",
    "nb_instance_type": lambda c: c.rng.choice(c.d["instance_types"]["notebook"]),
    "training_instance_type": lambda c: c.rng.choice(c.d["instance_types"]["training"]),
    "endpoint_instance_type": lambda c: c.rng.choice(c.d["instance_types"]["endpoint"]),
    "subnet_id": lambda c: c.rng.choice(c.d["network"]["vpc"]["subnets"]),
    "sg_id": lambda c: c.d["network"]["vpc"]["security_groups"][0],
    "vpc_id": lambda c: c.d["network"]["vpc"]["id"],
    # AWS service endpoints only: a generic endpoint change never picks a third-party
    # PrivateLink endpoint (Snowflake); a scenario that means one names it.
    "vpce_id": lambda c: c.rng.choice([v for k, v in c.d["network"]["vpc_endpoints"].items() if k in catalog.SOURCES]
                                      or list(c.d["network"]["vpc_endpoints"].values())),
    "new_vpce_id": lambda c: f"vpce-{ids.hexstr(c.rng, 17)}",
    "vpce_policy": lambda c: json.dumps({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}]}),
    "exec_role_arn": lambda c: _exec_role(c, "notebook" if "notebook" in c.d["execution_roles"] else "training"),
    "training_role_arn": lambda c: _exec_role(c, "training"),
    "inference_role_arn": lambda c: _exec_role(c, "inference"),
    "kms_key_id": lambda c: _kms(c)["id"],
    "kms_key_arn": lambda c: f"arn:aws:kms:{c['region']}:{c['account']}:key/{_kms(c)['id']}",
    "domain_id": lambda c: c.d["resources"]["domains"][0]["id"],
    "domain_name": lambda c: c.d["resources"]["domains"][0]["name"],
    "user_profile": lambda c: c.rng.choice(c.d["resources"]["domains"][0]["user_profiles"]),
    "training_job": lambda c: _job_name(c, "train"),
    "processing_job": lambda c: _job_name(c, "prep"),
    "training_image": lambda c: f"{c.d['resources'].get('ecr_repository', 'ecr')}/ml-training/{c['project']}@sha256:{ids.hexstr(c.rng, 64)}",
    "inference_image": lambda c: f"{c.d['resources'].get('ecr_repository', 'ecr')}/ml-inference/{c['project']}@sha256:{ids.hexstr(c.rng, 64)}",
    "model_project": _model_project,
    "model_image": lambda c: f"{c.d['resources'].get('ecr_repository', 'ecr')}/ml-inference/{c['model_project']}@sha256:{ids.hexstr(c.rng, 64)}",
    "model": lambda c: c.rng.choice(c.d["resources"]["models"]),
    "endpoint_config": lambda c: c.rng.choice(c.d["resources"]["endpoint_configs"]),
    "endpoint": lambda c: c.rng.choice(c.d["resources"]["endpoints"]),
    "data_bucket": lambda c: _bucket(c, "training-data"),
    "artifact_bucket": lambda c: _bucket(c, "artifacts"),
    "capture_bucket": lambda c: _bucket(c, "capture"),
    "bucket": lambda c: c.rng.choice(c.d["buckets"]["approved"]),
    "source_bucket": lambda c: _bucket(c, "training-data"),
    "object_key": _object_key,
    "bytes_out": _bytes_out,
    "bytes_in": lambda c: int(c.rng.lognormvariate(12.0, 1.2)),
    "amz_id2": lambda c: ids.amz_id2(c.rng),
    "bucket_policy": lambda c: {
        "Version": "2012-10-17",
        "Statement": [{"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
                       "Resource": [f"arn:aws:s3:::{c['bucket']}", f"arn:aws:s3:::{c['bucket']}/*"],
                       "Condition": {"Bool": {"aws:SecureTransport": "false"}}}],
    },
    "role_name": lambda c: c.rng.choice(list(c.d["execution_roles"].values()))["role"],
    "policy_name": lambda c: "s3-scoped-access",
    "policy_arn": lambda c: f"arn:aws:iam::{c['account']}:policy/sagemaker-{c['project']}-access",
    "policy_version": lambda c: c.rng.randrange(2, 6),
    "policy_document": lambda c: policy_json(
        _policy(["s3:GetObject", "s3:ListBucket"], [f"arn:aws:s3:::{_bucket(c, 'training-data')}", f"arn:aws:s3:::{_bucket(c, 'training-data')}/*"])
    ),
    "trust_document": lambda c: policy_json(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    ),
    "key_policy": lambda c: json.dumps(
        {"Version": "2012-10-17", "Id": "key-default-1", "Statement": [{"Sid": "Enable IAM User Permissions", "Effect": "Allow",
                                                                      "Principal": {"AWS": f"arn:aws:iam::{c['account']}:root"}, "Action": "kms:*", "Resource": "*"}]}
    ),
    "date_mdy": lambda c: mdy(_when(c)),
    "expiration_mdy": lambda c: mdy(_when(c) + dt.timedelta(hours=1)),
    "iam_user": lambda c: c.rng.choice(c.d.get("iam_users") or [c.d["break_glass"]["user"]]),
    "new_access_key": lambda c: ids.key_id(c.rng, "AKIA"),
    "new_user_id": lambda c: ids.key_id(c.rng, "AIDA", 17),
    "trail_name": lambda c: _trail(c)["name"],
    "trail_arn": lambda c: f"arn:aws:cloudtrail:{_trail(c)['home_region']}:{c['account']}:trail/{_trail(c)['name']}",
    "trail_bucket": lambda c: c.d["buckets"].get("cloudtrail", "cloudtrail-logs"),
    "detector_id": lambda c: c.d["resources"].get("guardduty_detector", ids.hexstr(c.rng, 32)),
    "graph_arn": lambda c: f"arn:aws:detective:{c['region']}:{c['account']}:graph:{c.d['resources'].get('detective_graph', ids.hexstr(c.rng, 32))}",
    "log_group": lambda c: c.rng.choice(c.d["resources"]["log_groups"]),
    "log_stream": lambda c: f"{c['project']}-train-{ids.hexstr(c.rng, 8)}/algo-1-{ids.hexstr(c.rng, 10) if c.when is None else int(c.when.timestamp())}",
    "tuning_job": lambda c: f"{c['project']}-hpo-{ids.hexstr(c.rng, 6)}",  # at most 32 characters
    "part_number": lambda c: str(c.rng.randrange(1, 40)),
    "upload_id": lambda c: ids.token(c.rng, 64),
    "canonical_id": lambda c: _stable_hex(f"canonical:{c['account']}", 64),
    "member_account": lambda c: next((a for a in c.baseline.accounts if a != c["account"]), c["account"]),
    "event_data_store_arn": lambda c: f"arn:aws:cloudtrail:{c['region']}:{c['account']}:eventdatastore/{_stable_uuid('eds:' + c['account'])}",
    "subscription_filter": lambda c: "sagemaker-logs-to-siem",
    "rest_api_id": lambda c: _stable_hex(f"restapi:{c['account']}", 10, alphabet="abcdefghijklmnopqrstuvwxyz0123456789"),
    "api_resource_id": lambda c: _stable_hex(f"apires:{c['account']}:{c['project']}", 6, alphabet="abcdefghijklmnopqrstuvwxyz0123456789"),
    "budget_name": lambda c: "ml-platform-monthly",
    "api_http_method": lambda c: "POST",
    "api_auth": lambda c: "AWS_IAM",
    "request_uuid": lambda c: ids.uuid4(c.rng),
    "hex17": lambda c: ids.hexstr(c.rng, 17),
    "cluster_name": lambda c: f"{c['project']}-hyperpod",
    # a HyperPod cluster ARN ends in a 12-character id: the same for one cluster in every call
    "cluster_id": lambda c: _stable_hex(f"cluster:{c['account']}:{c['cluster_name']}", 12,
                                        alphabet="abcdefghijklmnopqrstuvwxyz0123456789"),
    "hex32": lambda c: ids.hexstr(c.rng, 32),
    "secret_name": lambda c: c.rng.choice(c.d["resources"]["secrets"]),
    "secret_arn": lambda c: f"arn:aws:secretsmanager:{c['region']}:{c['account']}:secret:{c['secret_name']}-{ids.secret_suffix(c['secret_name'])}",
    "scp_id": lambda c: c.d["resources"].get("service_control_policy", "p-examplescp"),
    "scp_content": lambda c: json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "sagemaker:*", "Resource": "*",
                                                                              "Condition": {"StringNotEquals": {"aws:RequestedRegion": c.d["regions"]["approved"]}}}]}),
    "mgmt_account": lambda c: c.d.get("management_account", c["account"]),
    "org_id": lambda c: c.d.get("organization_id", "o-exampleorgid"),
    "caller_arn": lambda c: c.principal.arn.get(c["account"], "") if c.principal else "",
    "mfa_used": lambda c: "Yes" if c.principal is not None and c.principal.kind == "break_glass" else "No",
    "target_role_arn": lambda c: _target_role(c)["arn"],
    "target_role_name": lambda c: _target_role(c)["name"],
    "target_role_id": lambda c: _target_role(c)["id"],
    "target_session": lambda c: "SageMaker",
    "new_session_key": lambda c: ids.key_id(c.rng, "ASIA"),
    "session_token": lambda c: "IQoJb3JpZ2luX2VjE" + ids.token(c.rng, 40),
}

# ----------------------------------------------------------------------------- clients

CONSOLE_UAS = [
    "AWS Internal",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
]
_BOTO = "Boto3/{v} md/Botocore#{v} ua/2.0 os/{os} md/arch#x86_64 lang/python#{py} md/pyimpl#CPython cfg/retry-mode#legacy Botocore/{v}"
SDK_BY_KIND = {
    "pipelines": [_BOTO.format(v="1.35.36", os="linux#6.5.0-1025-azure", py="3.11.10")],
    "people": [_BOTO.format(v="1.35.60", os="macos#23.6.0", py="3.12.7"), _BOTO.format(v="1.34.144", os="windows#10", py="3.11.9")],
    "execution_roles": [
        _BOTO.format(v="1.35.36", os="linux#5.10.227-219.884.amzn2.x86_64", py="3.10.14").replace("cfg/", "exec-env/AWS_SageMaker_Notebook cfg/"),
        "aws-sdk-java/1.12.772 Linux/5.10.227-219.884.amzn2.x86_64 OpenJDK_64-Bit_Server_VM/17.0.12+7-LTS java/17.0.12 vendor/Amazon.com_Inc. cfg/retry-mode/standard",
    ],
}


def _kebab(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()


def cli_user_agent(spec: EventSpec, rng: random.Random, os_name: str = "linux#5.15.0-1071-aws") -> str:
    svc = {"s3": "s3api", "signin": "signin"}.get(spec.service, spec.service)
    return (f"aws-cli/2.22.{rng.randrange(0, 9)} md/awscrt#0.22.0 ua/2.0 os/{os_name} md/arch#x86_64 lang/python#3.12.6 "
            f"md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/prompt#off md/command#{svc}.{_kebab(spec.name)}")


def _stable(principal: Principal, n: int) -> int:
    """A per-principal choice that never changes: one person keeps one browser and one CLI."""
    return zlib.crc32(principal.name.encode()) % n


def console_browser(principal: Principal) -> str:
    """The browser a person uses for the console (one per person)."""
    return CONSOLE_UAS[1 + _stable(principal, len(CONSOLE_UAS) - 1)]


def user_agent(spec: EventSpec, principal: Principal, client: str, rng: random.Random) -> str:
    if client == "console":
        if spec.service == "s3":
            return "[S3Console/0.4, aws-internal/3 aws-sdk-java/1.12.750 Linux/5.10.226-192.879.amzn2int.x86_64 OpenJDK_64-Bit_Server_VM/25.412-b09 java/1.8.0_412 vendor/Oracle_Corporation cfg/retry-mode/standard]"
        browser = console_browser(principal)
        if spec.key == "signin:ConsoleLogin":
            return browser
        return CONSOLE_UAS[0] if rng.random() < 0.3 else browser
    if client == "cli":
        os_name = "linux#6.5.0-1025-azure" if principal.kind == "pipelines" else ("macos#23.6.0", "linux#6.8.0-48-generic")[_stable(principal, 2)]
        return cli_user_agent(spec, random.Random(principal.name), os_name)
    if client in ("sdk", "vpc"):
        agents = SDK_BY_KIND.get(principal.kind, SDK_BY_KIND["people"])
        return agents[_stable(principal, len(agents))] if principal.kind != "execution_roles" else rng.choice(agents)
    return principal.service_host or "AWS Internal"


def source_ip(principal: Principal, client: str, rng: random.Random) -> str:
    if client == "service":
        return principal.service_host or "AWS Internal"
    return rng.choice(principal.ips)


def tls_details(spec: EventSpec, ctx: Ctx, client: str, rng: random.Random) -> dict[str, str] | None:
    if spec.host is None or client == "service":
        return None
    if rng.random() < 0.85:
        version, cipher = "TLSv1.3", "TLS_AES_128_GCM_SHA256"
    else:
        version, cipher = "TLSv1.2", "ECDHE-RSA-AES128-GCM-SHA256"
    return {"tlsVersion": version, "cipherSuite": cipher, "clientProvidedHostHeader": resolve(spec.host, ctx)}


# ----------------------------------------------------------------------------- failures

def _resource_arn(spec: EventSpec, ctx: Ctx, response: Any, resources: Any) -> str:
    if isinstance(resources, list) and resources:
        return resources[-1]["ARN"]
    if isinstance(response, dict):
        for v in response.values():
            if isinstance(v, str) and v.startswith("arn:"):
                return v
    if spec.service == "iam":
        return f"arn:aws:iam::{ctx['account']}:role/{ctx['role_name']}"
    return f"arn:aws:{spec.service}:{ctx['region']}:{ctx['account']}:*"


def failure(kind: str, spec: EventSpec, ctx: Ctx, caller: str, response: Any, resources: Any) -> tuple[str | None, str]:
    """(errorCode, errorMessage) in the wording the service uses for this kind of failure."""
    table = {"denied": catalog.DENIED, "throttled": catalog.THROTTLED, "validation": catalog.VALIDATION}.get(kind)
    if kind == "scp_denied":
        code, msg = catalog.SCP_DENIED
    elif table is None:
        raise ValueError(kind)
    else:
        code, msg = table.get(spec.service, table["default"])
    fill = {
        "caller": caller,
        "action": f"{spec.service}:{spec.name}",
        "resource": _resource_arn(spec, ctx, response, resources),
        "param": spec.required[0] if spec.required else "name",
        "kind": _kebab(spec.name.removeprefix("Describe").removeprefix("Create").removeprefix("Update")).replace("-", " "),
        "name": "resource",
        "role_name": ctx["role_name"] if spec.service == "iam" else "",
    }
    if spec.service == "sagemaker" and isinstance(spec.request, dict) and spec.request:
        first = next(iter(spec.request.values()))
        fill["name"] = resolve(first, ctx) if isinstance(first, str) else "resource"
    return code, _INTERP.sub(lambda m: str(fill[m.group(1)]), msg)


def default_failure_kind(spec: EventSpec, rng: random.Random) -> str:
    """Reads mostly throttle, writes mostly get denied; SageMaker creates fail validation."""
    r = rng.random()
    if spec.read_only:
        return "throttled" if r < 0.55 else "denied"
    if spec.service == "sagemaker" and r < 0.35:
        return "validation"
    return "denied" if r < 0.9 else "throttled"


# ----------------------------------------------------------------------------- records

HIDDEN = "HIDDEN_DUE_TO_SECURITY_REASONS"
SIGN_IN_FAILED = "Failed authentication"
SIGN_IN_NO_USER = "No username found in supplied account"
"""How CloudTrail words a failed console sign-in: a wrong password, and a user name the
account does not have (https://docs.aws.amazon.com/IAM/latest/UserGuide/cloudtrail-integration.html)."""


def _unknown_sign_in_user(principal: Principal, ctx: Ctx) -> bool:
    """An IAM user name the account does not have: a scenario's made-up ``iam_user`` that is
    neither a baseline IAM user nor the break-glass user."""
    if principal.kind != "iam_user":
        return False
    known = set(ctx.d.get("iam_users") or []) | {ctx.d.get("break_glass", {}).get("user")}
    return principal.name not in known


def hidden_sign_in_identity(account: str) -> dict[str, Any]:
    """The caller of a failed sign-in with an unknown user name: no arn, no principalId."""
    return {"type": "IAMUser", "accountId": account, "accessKeyId": "", "userName": HIDDEN}


def build_record(
    spec: EventSpec,
    principal: Principal,
    client: str,
    ctx: Ctx,
    rng: random.Random,
    *,
    event_time: str,
    event_id: str,
    request_id: str | None = None,
    session_time: str | None = None,
    ip: str | None = None,
    agent: str | None = None,
    error: tuple[str | None, str] | str | None = None,
    params: dict[str, Any] | None = None,
    fields: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One CloudTrail record.

    ``error`` is a failure kind (``denied``, ``throttled``, ``validation``, ``scp_denied``)
    or an explicit ``(errorCode, errorMessage)``. ``params`` are request parameters
    merged over the template (``None`` removes a parameter). ``fields`` override
    top-level record fields (``None`` removes one).
    """
    account, region = ctx["account"], ctx["region"]
    identity = copy.deepcopy(principal.identity[account])
    attrs = identity.get("sessionContext", {}).get("attributes")
    if attrs is not None:
        attrs["creationDate"] = session_time or event_time
    context = identity.get("sessionContext")
    if isinstance(context, dict) and spec.service not in catalog.WEB_ID_FEDERATION_SERVICES:
        context.pop("webIdFederationData", None)
    if client == "service" and principal.kind == "execution_roles":
        identity["invokedBy"] = "sagemaker.amazonaws.com"
    if spec.key == "signin:ConsoleLogin":
        identity.pop("accessKeyId", None)
        identity.pop("invokedBy", None)
        if error is not None and _unknown_sign_in_user(principal, ctx):
            identity = hidden_sign_in_identity(account)

    if params:
        for var, pname in spec.binds.items():
            if params.get(pname) is not None:
                ctx[var] = params[pname]  # the response and resources name what the request names
    request = resolve(spec.request, ctx)
    if params:
        request = merge(request if isinstance(request, dict) else {}, params)
        if spec.service == "kms" and isinstance(request, dict) and request.get("keyId"):
            # resources[] and responseElements name the key the request names
            bind_kms_key(ctx, request["keyId"])
        if spec.key == "apigateway:UpdateMethod" and isinstance(request, dict):
            for op in request.get("patchOperations") or []:
                if isinstance(op, dict) and op.get("path") == "/authorizationType" and op.get("value"):
                    ctx["api_auth"] = op["value"]  # the response shows the patched method
    response = resolve(spec.response, ctx)
    resources = resolve(spec.resources, ctx) if spec.resources is not None else None
    additional = resolve(spec.additional, ctx) if spec.additional is not None else None

    rec: dict[str, Any] = {
        "eventVersion": spec.version,
        "userIdentity": identity,
        "eventTime": event_time,
        "eventSource": spec.source,
        "eventName": spec.name,
        "awsRegion": spec.global_region or region,
        "sourceIPAddress": ip if ip is not None else source_ip(principal, client, rng),
        "userAgent": agent if agent is not None else user_agent(spec, principal, client, rng),
    }
    if error is not None:
        code, message = error if isinstance(error, tuple) else failure(error, spec, ctx, principal.arn.get(account, ""), response, resources)
        if spec.key == "signin:ConsoleLogin":
            # CloudTrail writes a failed sign-in without errorCode, and an unknown user name
            # with its own message (the generic one is only for a wrong password).
            if identity.get("userName") == HIDDEN and message == SIGN_IN_FAILED:
                message = SIGN_IN_NO_USER
            rec["errorMessage"] = message
            response = {"ConsoleLogin": "Failure"}
        else:
            if code:
                rec["errorCode"] = code
            rec["errorMessage"] = message
            response = None
            if isinstance(additional, dict) and "bytesTransferredOut" in additional:
                additional["bytesTransferredOut"] = 0
    rec["requestParameters"] = request
    rec["responseElements"] = response
    if additional is not None:
        rec["additionalEventData"] = additional
    if spec.event_type != "AwsConsoleSignIn":  # sign-in events carry no requestID
        rec["requestID"] = request_id if request_id is not None else (
            ids.s3_request_id(rng) if spec.request_id == "s3" else ids.uuid4(rng))
    rec["eventID"] = event_id
    rec["readOnly"] = spec.read_only
    if resources is not None:
        rec["resources"] = resources
    rec["eventType"] = spec.event_type
    rec["managementEvent"] = not spec.is_data
    rec["recipientAccountId"] = account
    if client == "vpc":
        vpce = ctx.d["network"]["vpc_endpoints"].get(spec.service)
        if vpce:
            rec["vpcEndpointId"] = vpce
            rec["vpcEndpointAccountId"] = account  # the endpoints live in the calling account's VPC
    rec["eventCategory"] = spec.category
    tls = tls_details(spec, ctx, client, rng)
    if tls is not None:
        rec["tlsDetails"] = tls
    if client == "console" and spec.key != "signin:ConsoleLogin" and identity.get("type") in ("AssumedRole", "IAMUser"):
        rec["sessionCredentialFromConsole"] = "true"
    if fields:
        for k, v in fields.items():
            if v is None:
                rec.pop(k, None)
            elif isinstance(v, dict) and isinstance(rec.get(k), dict):
                rec[k] = merge(rec[k], v)
            else:
                rec[k] = v
    return rec


def merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Deep-merge ``over`` into a copy of ``base``; ``None`` in ``over`` deletes the key."""
    out = dict(base)
    for k, v in over.items():
        if v is None:
            out.pop(k, None)
        elif isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = merge(out[k], v)
        else:
            out[k] = v
    return out
