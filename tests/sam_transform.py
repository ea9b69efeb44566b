#!/usr/bin/env python3
"""The SAM transform `sam deploy` runs, offline, and what the deployed stack promises.

    python tests/sam_transform.py [--template template.yaml] [--out target/sam/template.json]

1. Transforms template.yaml with `aws-sam-translator` (the library behind `sam build`, `sam
   validate` and CloudFormation's AWS::Serverless transform) given ONLY the required parameters,
   and writes the plain CloudFormation template to --out (then lint that with cfn-lint).
2. Checks the parameters: every Default (and every sample required value) satisfies its own
   AllowedPattern / AllowedValues / length / range, as CloudFormation will check at deploy time.
3. Evaluates the template's Rules: all pass with only the required parameters, and each one
   refuses the combination it exists for (so a rule that can never fire is caught).
4. Checks the transformed resources: every function logs JSON to a log group of the stack (no
   group named like the one Lambda creates itself), has an error alarm, and every queue has an
   oldest-message-age alarm. Every route but VTEX's (`/{secret}/pvt|pub/…`) is IAM-authorized.
5. Checks the sample events against the deployed routes: each HTTP event in events/ names a
   route of the transformed HTTP API that goes to its function, its rawPath is the stage (the
   BasePath) + the route with its pathParameters, and requestContext agrees. Every route has an
   event. events/env-vars.json only sets variables its function declares (`sam local invoke`
   silently drops the others) and gives each HTTP function the secret its events carry.

Exits non-zero with one line per failure.
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import sys
from pathlib import Path
from urllib.parse import parse_qsl

import yaml

ROOT = Path(__file__).resolve().parent.parent

# What a user must give `sam deploy --guided` (the parameters without a Default), with values of
# the right shape. The check fails if the template's required set changes without this list.
REQUIRED_SAMPLE = {
    "InboundAuthSecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:vtex-connector/inbound-AbCdEf",
    "VtexCredentialsSecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:vtex-connector/vtex-app-key-GhIjKl",
    "VtexSellerId": "1",
    "DefaultAccountName": "marketplacedemo",
}
PSEUDO = {
    "AWS::AccountId": "123456789012",
    "AWS::Partition": "aws",
    "AWS::Region": "us-east-1",
    "AWS::StackName": "vtex-connector",
    "AWS::StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/vtex-connector/51af3dc0-da77-11e4-872e-1234567db123",
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::NoValue": None,
}

FAILURES: list[str] = []


def fail(msg: str) -> None:
    FAILURES.append(msg)


# ------------------------------------------------------------------------------------ YAML
class CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short-form tags (!Ref, !Sub, !GetAtt a.b, ...)."""


def _tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node):
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


CfnLoader.add_multi_constructor("!", _tag)


def load_yaml(path: Path) -> dict:
    return yaml.load(path.read_text(), Loader=CfnLoader)


# ------------------------------------------------------------------------------------ transform
def local_code_uris_to_s3(template: dict) -> None:
    """What `sam package` does before the transform: local CodeUri -> an S3 location."""
    for res in template.get("Resources", {}).values():
        if res.get("Type") == "AWS::Serverless::Function":
            props = res.setdefault("Properties", {})
            uri = props.get("CodeUri", template.get("Globals", {}).get("Function", {}).get("CodeUri"))
            if isinstance(uri, str) and not uri.startswith("s3://"):
                props["CodeUri"] = f"s3://sam-package-bucket/{uri.strip('./') or 'root'}.zip"


def transform(template: dict, params: dict) -> dict:
    import boto3
    from samtranslator.parser import parser
    from samtranslator.public.exceptions import InvalidDocumentException
    from samtranslator.translator.translator import Translator

    sam = copy.deepcopy(template)
    local_code_uris_to_s3(sam)
    translator = Translator(
        managed_policy_map=None,
        sam_parser=parser.Parser(),
        plugins=[],
        boto_session=boto3.session.Session(region_name=PSEUDO["AWS::Region"]),
    )
    try:
        return translator.translate(
            sam_template=sam,
            parameter_values=dict(params),
            # Offline: the template names no AWS managed policy, so none needs resolving.
            get_managed_policy_map=lambda: {},
        )
    except InvalidDocumentException as e:
        for cause in e.causes:
            fail(f"SAM transform: {cause}")
        return {}


# ------------------------------------------------------------------------------------ intrinsics
class Unresolvable(Exception):
    pass


def evaluate(node, params: dict, conditions: dict):
    """Evaluates the intrinsics Rules, Conditions and a stage name use (no resource attributes)."""
    if isinstance(node, list):
        return [evaluate(n, params, conditions) for n in node]
    if not isinstance(node, dict) or len(node) != 1:
        return node
    (key, arg), = node.items()
    ev = lambda n: evaluate(n, params, conditions)  # noqa: E731
    if key == "Ref":
        if arg in params:
            return params[arg]
        raise Unresolvable(f"Ref {arg}")
    if key == "Condition":
        return condition(arg, params, conditions)
    if key == "Fn::Equals":
        a, b = ev(arg)
        return str(a) == str(b)
    if key == "Fn::Not":
        return not ev(arg[0])
    if key == "Fn::And":
        return all(ev(a) for a in arg)
    if key == "Fn::Or":
        return any(ev(a) for a in arg)
    if key == "Fn::If":
        name, yes, no = arg
        return ev(yes) if condition(name, params, conditions) else ev(no)
    if key == "Fn::Join":
        sep, items = arg
        return sep.join(str(i) for i in ev(items))
    if key == "Fn::Split":
        sep, s = arg
        return str(ev(s)).split(sep)
    if key == "Fn::Select":
        i, items = arg
        return ev(items)[int(ev(i))]
    if key == "Fn::Sub" and isinstance(arg, str):
        def one(m):
            name = m.group(1)
            if name in params:
                return str(params[name])
            raise Unresolvable(f"Sub ${{{name}}}")

        return re.sub(r"\$\{([^}!]+)\}", one, arg)
    if key.startswith("Fn::") or key == "Ref":
        raise Unresolvable(key)
    return {k: ev(v) for k, v in node.items()}


def condition(name: str, params: dict, conditions: dict) -> bool:
    return bool(evaluate(conditions[name], params, conditions))


# ------------------------------------------------------------------------------------ parameters
def parameter_values(template: dict, given: dict) -> dict:
    values = dict(PSEUDO)
    for name, p in template.get("Parameters", {}).items():
        if name in given:
            values[name] = given[name]
        elif "Default" in p:
            values[name] = p["Default"]
    return values


def check_parameter_value(name: str, p: dict, value, what: str) -> None:
    s = str(value)
    if p.get("Type") == "Number":
        try:
            n = float(s)
        except ValueError:
            fail(f"parameter {name}: {what} {s!r} is not a number")
            return
        if "MinValue" in p and n < float(p["MinValue"]):
            fail(f"parameter {name}: {what} {s} < MinValue {p['MinValue']}")
        if "MaxValue" in p and n > float(p["MaxValue"]):
            fail(f"parameter {name}: {what} {s} > MaxValue {p['MaxValue']}")
    if "AllowedValues" in p and s not in [str(v) for v in p["AllowedValues"]]:
        fail(f"parameter {name}: {what} {s!r} not in AllowedValues")
    if "AllowedPattern" in p and not re.fullmatch(p["AllowedPattern"], s):
        fail(f"parameter {name}: {what} {s!r} does not match AllowedPattern {p['AllowedPattern']}")
    if "MinLength" in p and len(s) < int(p["MinLength"]):
        fail(f"parameter {name}: {what} {s!r} shorter than MinLength {p['MinLength']}")
    if "MaxLength" in p and len(s) > int(p["MaxLength"]):
        fail(f"parameter {name}: {what} longer than MaxLength {p['MaxLength']}")


def check_parameters(template: dict) -> None:
    params = template.get("Parameters", {})
    required = {n for n, p in params.items() if "Default" not in p}
    if required != set(REQUIRED_SAMPLE):
        fail(
            f"required parameters are {sorted(required)}, tests/sam_transform.py (and the README's "
            f"deploy section) expect {sorted(REQUIRED_SAMPLE)}"
        )
    for name, p in params.items():
        if "Default" in p:
            check_parameter_value(name, p, p["Default"], "Default")
        elif name in REQUIRED_SAMPLE:
            check_parameter_value(name, p, REQUIRED_SAMPLE[name], "sample value")


# ------------------------------------------------------------------------------------ rules
# For each rule, parameters that must make it refuse the deployment (on top of the required ones).
RULE_MUST_REFUSE = {
    "ImportNeedsItsCredentials": {"ImportVtexAccount": "myshop"},
    "ImportCredentialsNeedTheirAccount": {
        "ImportVtexCredentialsSecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:own-key-MnOpQr"
    },
    "ImportGoesToTheSellersOwnAccount": {
        "ImportVtexAccount": "marketplacedemo",
        "ImportVtexCredentialsSecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:own-key-MnOpQr",
    },
    "InboundAuthIsNotAVtexKey": {"InboundAuthSecretArn": REQUIRED_SAMPLE["VtexCredentialsSecretArn"]},
    # The import flow with the marketplace's inbound secret as the mse's: one credential for two
    # trust domains.
    "MseHasItsOwnSecret": {
        "ImportVtexAccount": "myshop",
        "ImportVtexCredentialsSecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:own-key-MnOpQr",
        "MseAuthSecretArn": REQUIRED_SAMPLE["InboundAuthSecretArn"],
    },
}


def rule_failures(rule: dict, params: dict) -> list[str]:
    if "RuleCondition" in rule and not evaluate(rule["RuleCondition"], params, {}):
        return []
    return [
        a.get("AssertDescription", "assertion failed")
        for a in rule.get("Assertions", [])
        if not evaluate(a["Assert"], params, {})
    ]


def check_rules(template: dict) -> None:
    rules = template.get("Rules", {})
    base = parameter_values(template, REQUIRED_SAMPLE)
    for name, rule in rules.items():
        try:
            refused = rule_failures(rule, base)
        except Unresolvable as e:
            fail(f"rule {name}: uses {e}, which this check cannot evaluate")
            continue
        if refused:
            fail(f"rule {name} refuses a deployment with only the required parameters: {refused[0]}")
        bad = RULE_MUST_REFUSE.get(name)
        if bad is None:
            fail(f"rule {name}: add the combination it must refuse to RULE_MUST_REFUSE")
            continue
        if not rule_failures(rule, parameter_values(template, {**REQUIRED_SAMPLE, **bad})):
            fail(f"rule {name} does not refuse {bad}")
    for name in set(RULE_MUST_REFUSE) - set(rules):
        fail(f"rule {name} is gone from the template")


# ------------------------------------------------------------------------------------ resources
def refs_in(node) -> set[str]:
    """Logical ids a node refers to (Ref, GetAtt, ${X} / ${X.Attr} in Sub)."""
    out: set[str] = set()
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "Ref" and isinstance(v, str):
                out.add(v)
            elif k == "Fn::GetAtt":
                out.add(v[0] if isinstance(v, list) else str(v).split(".")[0])
            elif k == "Fn::Sub":
                s = v[0] if isinstance(v, list) else v
                out |= {m.split(".")[0] for m in re.findall(r"\$\{([^}!]+)\}", s)}
                if isinstance(v, list):
                    out |= refs_in(v[1])
            else:
                out |= refs_in(v)
    elif isinstance(node, list):
        for v in node:
            out |= refs_in(v)
    return out


def check_resources(cfn: dict) -> None:
    res = cfn.get("Resources", {})
    functions = {k for k, r in res.items() if r["Type"] == "AWS::Lambda::Function"}
    queues = {k for k, r in res.items() if r["Type"] == "AWS::SQS::Queue"}
    alarms = [r["Properties"] for r in res.values() if r["Type"] == "AWS::CloudWatch::Alarm"]
    if not functions:
        fail("the transformed template has no function")

    def metric_targets(alarm: dict) -> list[tuple[str, set[str]]]:
        metrics = [alarm] + [m["MetricStat"]["Metric"] for m in alarm.get("Metrics", []) if "MetricStat" in m]
        return [(m.get("MetricName"), refs_in(m.get("Dimensions", []))) for m in metrics]

    for fn in sorted(functions):
        props = res[fn]["Properties"]
        logging = props.get("LoggingConfig", {})
        if logging.get("LogFormat") != "JSON":
            fail(f"{fn}: LoggingConfig.LogFormat is not JSON")
        group = logging.get("LogGroup")
        group_id = group.get("Ref") if isinstance(group, dict) else None
        if group_id not in res or res[group_id]["Type"] != "AWS::Logs::LogGroup":
            fail(f"{fn}: LoggingConfig.LogGroup is not a log group of this stack ({group!r})")
        if not any(name == "Errors" and fn in refs for a in alarms for name, refs in metric_targets(a)):
            fail(f"{fn}: no alarm on its Errors metric")
    for lid, r in res.items():
        if r["Type"] == "AWS::Logs::LogGroup":
            name = r["Properties"].get("LogGroupName")
            # Lambda creates /aws/lambda/<function name> itself on first invoke: a group of that
            # name in the stack fails the deployment when Lambda got there first.
            if refs_in(name) & functions:
                fail(f"{lid}: LogGroupName is built from a function name and can collide with Lambda's own group")
    for q in sorted(queues):
        if not any(
            name == "ApproximateAgeOfOldestMessage" and q in refs for a in alarms for name, refs in metric_targets(a)
        ):
            fail(f"{q}: no ApproximateAgeOfOldestMessage alarm")


# ------------------------------------------------------------------------------------ routes / events
def pascal(kebab: str) -> str:
    return "".join(p[:1].upper() + p[1:] for p in kebab.split("-"))


def deployed_routes(cfn: dict) -> dict[str, str]:
    """routeKey -> logical id of the function it integrates (from each HTTP API's OpenAPI body)."""
    routes: dict[str, str] = {}
    for lid, r in cfn.get("Resources", {}).items():
        if r["Type"] != "AWS::ApiGatewayV2::Api":
            continue
        for path, methods in r["Properties"].get("Body", {}).get("paths", {}).items():
            for method, op in when_true(methods).items():
                if method not in HTTP_METHODS:
                    continue  # path-level "parameters"
                integ = when_true(when_true(op).get("x-amazon-apigateway-integration", {}))
                targets = [t for t in refs_in(when_true(integ.get("uri"))) if not t.startswith("AWS::")]
                target = targets[0] if targets else "?"
                if cfn["Resources"].get(target, {}).get("Type") == "AWS::Lambda::Alias":
                    target = next(iter(refs_in(cfn["Resources"][target]["Properties"]["FunctionName"])))
                routes[f"{method.upper()} {path}"] = target
    return routes


# Routes VTEX calls (they authenticate in the functions: path secret or app key / token). Every
# other route is for operators and must be IAM-authorized at the API (the admin view, the console).
VTEX_ROUTE = re.compile(r"^/\{secret\}/(pvt|pub)/")


def check_operator_routes_are_iam(cfn: dict) -> None:
    for lid, r in cfn.get("Resources", {}).items():
        if r["Type"] != "AWS::ApiGatewayV2::Api":
            continue
        for path, methods in r["Properties"].get("Body", {}).get("paths", {}).items():
            if VTEX_ROUTE.match(path):
                continue
            for method, op in when_true(methods).items():
                if method not in HTTP_METHODS:
                    continue
                security = when_true(op).get("security") or []
                if not any("AWS_IAM" in s for s in security):
                    fail(f"{method.upper()} {path}: an operator route without IAM authorization")


def when_true(node):
    """A route of a function with a Condition is wrapped in Fn::If [cond, route, NoValue]."""
    while isinstance(node, dict) and list(node) == ["Fn::If"]:
        node = node["Fn::If"][1]
    return node


HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "x-amazon-apigateway-any-method"}


def stage_names(cfn: dict, params: dict) -> list[str]:
    conditions = cfn.get("Conditions", {})
    out = []
    for lid, r in cfn.get("Resources", {}).items():
        if r["Type"] == "AWS::ApiGatewayV2::Stage":
            try:
                out.append(str(evaluate(r["Properties"]["StageName"], params, conditions)))
            except Unresolvable as e:
                fail(f"{lid}: StageName uses {e}")
    return out


def route_regex(route_path: str) -> tuple[re.Pattern, list[str]]:
    """A route's path as a regex, and its path parameters. A greedy `{name+}` matches the rest of
    the path, slashes included, and API Gateway names its parameter `name`."""
    found = re.findall(r"\{([^}]+)\}", route_path)
    rx = re.escape(route_path)
    names = []
    for n in found:
        name, greedy = n.rstrip("+"), n.endswith("+")
        rx = rx.replace(re.escape("{" + n + "}"), f"(?P<{name}>{'.+' if greedy else '[^/]+'})")
        names.append(name)
    return re.compile(rx), names


def check_events(cfn: dict, params: dict, events_dir: Path) -> None:
    routes = deployed_routes(cfn)
    if not routes:
        fail("the transformed template deploys no HTTP route")
        return
    stages = stage_names(cfn, params)
    if len(stages) != 1:
        fail(f"expected one HTTP API stage, found {stages}")
        return
    stage = stages[0]
    prefix = "" if stage == "$default" else f"/{stage}"
    functions = {k: r for k, r in cfn["Resources"].items() if r["Type"] == "AWS::Lambda::Function"}

    env_path = events_dir / "env-vars.json"
    env = json.loads(env_path.read_text()) if env_path.exists() else None
    if env is None:
        fail("events/env-vars.json is missing")
        env = {}
    for fn, variables in env.items():
        if fn == "Parameters":
            continue
        if fn not in functions:
            fail(f"env-vars.json: {fn} is not a function of the template")
            continue
        declared = functions[fn]["Properties"].get("Environment", {}).get("Variables", {})
        for var in variables:
            if var not in declared:
                fail(f"env-vars.json: {fn}.{var} is not declared in the template: sam local invoke ignores it")

    secrets_by_fn: dict[str, set[str]] = {}
    used_routes: set[str] = set()
    for path in sorted(events_dir.glob("*.json")):
        if path.name == "env-vars.json":
            continue
        ev = json.loads(path.read_text())
        if not isinstance(ev, dict) or "routeKey" not in ev and "rawPath" not in ev:
            continue
        name = path.name
        fn = pascal(name.split(".")[0]) + "Function"
        rk = ev.get("routeKey", "")
        ctx = ev.get("requestContext", {})
        if rk not in routes:
            fail(f"{name}: routeKey {rk!r} is not a deployed route (routes: {sorted(routes)})")
            continue
        used_routes.add(rk)
        if routes[rk] != fn:
            fail(f"{name}: route {rk!r} goes to {routes[rk]}, not to {fn}")
        method, route_path = rk.split(" ", 1)
        if ctx.get("routeKey") != rk:
            fail(f"{name}: requestContext.routeKey {ctx.get('routeKey')!r} != routeKey {rk!r}")
        if ctx.get("stage") != stage:
            fail(f"{name}: requestContext.stage {ctx.get('stage')!r}, the deployed stage is {stage!r}")
        http = ctx.get("http", {})
        if http.get("method") != method:
            fail(f"{name}: requestContext.http.method {http.get('method')!r} != {method}")
        raw = ev.get("rawPath", "")
        if http.get("path") != raw:
            fail(f"{name}: requestContext.http.path {http.get('path')!r} != rawPath {raw!r}")
        if not raw.startswith(prefix + "/"):
            fail(f"{name}: rawPath {raw!r} does not start with the stage {prefix!r}")
            continue
        rx, names = route_regex(route_path)
        m = rx.fullmatch(raw[len(prefix):])
        if not m:
            fail(f"{name}: rawPath {raw!r} does not match {prefix}{route_path}")
            continue
        pp = ev.get("pathParameters") or {}
        if set(pp) != set(names):
            fail(f"{name}: pathParameters {sorted(pp)} != the route's {sorted(names)}")
        for n in names:
            if pp.get(n) != m.group(n):
                fail(f"{name}: pathParameters.{n} {pp.get(n)!r} != {m.group(n)!r} from rawPath")
        qs = ev.get("rawQueryString", "")
        expected_q: dict[str, str] = {}
        for k, v in parse_qsl(qs, keep_blank_values=True):
            expected_q[k] = f"{expected_q[k]},{v}" if k in expected_q else v
        if (ev.get("queryStringParameters") or {}) != expected_q:
            fail(f"{name}: queryStringParameters do not match rawQueryString {qs!r}")
        if "secret" in pp:
            secrets_by_fn.setdefault(fn, set()).add(pp["secret"])

    for rk in sorted(set(routes) - used_routes):
        fail(f"route {rk!r} has no sample event in events/")
    for fn, secrets in sorted(secrets_by_fn.items()):
        local = env.get(fn, {})
        if len(secrets) != 1:
            fail(f"{fn}: its events carry different secrets {sorted(secrets)}")
        if local.get("INBOUND_PATH_SECRET") not in secrets:
            fail(f"env-vars.json: {fn}.INBOUND_PATH_SECRET does not match the secret of its events")
        if local.get("INBOUND_AUTH_SECRET_ARN", None) != "":
            fail(f"env-vars.json: {fn}.INBOUND_AUTH_SECRET_ARN must be \"\" (a set ARN wins over INBOUND_PATH_SECRET)")


# ------------------------------------------------------------------------------------ main
def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--template", default=str(ROOT / "template.yaml"))
    ap.add_argument("--out", default=str(ROOT / "target" / "sam" / "template.json"))
    ap.add_argument("--events", default=str(ROOT / "events"))
    args = ap.parse_args()

    template = load_yaml(Path(args.template))
    check_parameters(template)
    check_rules(template)
    params = parameter_values(template, REQUIRED_SAMPLE)
    cfn = transform(template, {k: v for k, v in params.items() if k != "AWS::NoValue"})
    if cfn:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(cfn, indent=1, sort_keys=False, default=str))
        check_resources(cfn)
        check_events(cfn, params, Path(args.events))
        check_operator_routes_are_iam(cfn)
        routes = deployed_routes(cfn)
        stage = ",".join(stage_names(cfn, params))
        print(f"SAM transform: {len(cfn['Resources'])} resources, stage {stage}, routes:")
        for rk, fn in sorted(routes.items(), key=lambda kv: kv[0].split(" ", 1)[::-1]):
            print(f"  {rk:55} -> {fn}")
        print(f"transformed template written to {out}")
    for f in FAILURES:
        print(f"FAIL: {f}", file=sys.stderr)
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
