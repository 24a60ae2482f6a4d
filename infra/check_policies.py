"""Fails on IAM grants in template.yaml that are wider than they need to be.

Run by infra/test with the cfn-lint of ./.venv (its decoder reads CloudFormation's short tags):
    .venv/bin/python infra/check_policies.py template.yaml

Rules, for every Allow statement of every policy in the template (managed policies, roles, bucket and
topic policies, inline function policies):
  1. No `"*"` resource, unless every action in the statement is one AWS cannot scope to a resource
     (UNSCOPABLE below, each with the reason).
  2. No wildcard actions (`dynamodb:*`, `*`).
  3. `NotResource` only for SMS: `sns:Publish` to phone numbers has no resource ARN, so the statement
     excludes every topic instead.
  4. Functions reference the template's own managed policies only: no AWS managed policy and no SAM
     policy template (they grant more than a route needs).
Prints each finding and exits 1 if there is any.
"""

import sys

from cfnlint.decode import decode

# Actions whose IAM resource can only be "*", and why glucolink uses them.
UNSCOPABLE = {
    # CloudFront invalidations are scoped by distribution ARN, so not here; these have no resource type.
    "cloudwatch:PutMetricData": "metrics have no resource ARN",
}
SMS_ONLY = {"sns:Publish"}


def as_list(value):
    return value if isinstance(value, list) else [value]


def statements(resource):
    """(where, statement) for every policy statement a resource carries."""
    props = resource.get("Properties", {}) or {}
    kind = resource.get("Type", "")
    documents = []
    if kind in ("AWS::IAM::ManagedPolicy", "AWS::IAM::Policy"):
        documents.append(("PolicyDocument", props.get("PolicyDocument")))
    if kind == "AWS::IAM::Role":
        for policy in props.get("Policies", []) or []:
            documents.append((f"Policies/{policy.get('PolicyName')}", policy.get("PolicyDocument")))
    if kind in ("AWS::S3::BucketPolicy", "AWS::SNS::TopicPolicy"):
        documents.append(("PolicyDocument", props.get("PolicyDocument")))
    if kind == "AWS::Serverless::Function":
        for policy in as_list(props.get("Policies", []) or []):
            if isinstance(policy, dict) and "Statement" in policy:
                documents.append(("Policies", policy))
    for where, document in documents:
        for statement in as_list((document or {}).get("Statement", [])):
            yield where, statement


def check(template):
    findings = []
    resources = template.get("Resources", {})
    managed = {name for name, r in resources.items() if r.get("Type") == "AWS::IAM::ManagedPolicy"}
    for name, resource in resources.items():
        for where, statement in statements(resource):
            if statement.get("Effect") != "Allow":
                continue
            actions = [str(a) for a in as_list(statement.get("Action", []))]
            label = f"{name} {where}: {', '.join(actions)}"
            if any(a == "*" or a.endswith(":*") for a in actions):
                findings.append(f"{label}: wildcard action")
            if "NotResource" in statement and not set(actions) <= SMS_ONLY:
                findings.append(f"{label}: NotResource is only for SMS publishing")
            for target in as_list(statement.get("Resource", [])):
                if target == "*" and not set(actions) <= set(UNSCOPABLE):
                    findings.append(f"{label}: Resource \"*\" where a scoped ARN is possible")
        if resource.get("Type") == "AWS::Serverless::Function":
            for policy in as_list(resource.get("Properties", {}).get("Policies", []) or []):
                if isinstance(policy, dict) and set(policy) == {"Ref"} and policy["Ref"] in managed:
                    continue
                if isinstance(policy, dict) and "Statement" in policy:
                    continue
                findings.append(f"{name}: policy {policy!r} is not one of the template's managed policies")
    return findings


def self_test():
    """The rules catch what they should (so a passing template means something)."""
    wide = {
        "Resources": {
            "Wide": {
                "Type": "AWS::IAM::ManagedPolicy",
                "Properties": {
                    "PolicyDocument": {
                        "Statement": [
                            {"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": "*"},
                            {"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::b/*"},
                            {"Effect": "Allow", "Action": "ses:SendEmail", "NotResource": "arn:x"},
                            {"Effect": "Deny", "Action": "*", "Resource": "*"},
                        ]
                    }
                },
            },
            "Fn": {
                "Type": "AWS::Serverless::Function",
                "Properties": {"Policies": ["AmazonDynamoDBFullAccess", {"Ref": "Wide"}]},
            },
        }
    }
    findings = check(wide)
    expected = ['Resource "*"', "wildcard action", "NotResource", "AmazonDynamoDBFullAccess"]
    for words in expected:
        assert any(words in f for f in findings), f"the check missed: {words} in {findings}"
    assert len(findings) == len(expected), findings
    print("check_policies self-test: every rule catches its case")


def main(path):
    template, matches = decode(path)
    if matches:
        for match in matches:
            print(match)
        sys.exit(1)
    findings = check(template)
    for finding in findings:
        print(f"too wide: {finding}")
    if findings:
        sys.exit(1)
    print(f"{path}: every IAM grant is scoped")


if __name__ == "__main__":
    self_test()
    main(sys.argv[1])
