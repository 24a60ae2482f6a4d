"""Prints template.yaml as JSON, intrinsic functions in their long form ({"Ref": …}, {"Fn::Sub": …}).

The cloud rehearsal (functions/rehearse) reads the template this way, so that the table, functions,
routes, policies and CloudFront settings it rehearses are the template's own, never written twice.
Uses cfn-lint's decoder (pinned in infra/requirements-test.txt), which reads CloudFormation's short
forms (!Ref, !Sub, !GetAtt…).

    .venv/bin/python infra/template_json.py template.yaml > template.json
"""

import json
import sys

from cfnlint.decode import decode


def main() -> int:
    template, problems = decode(sys.argv[1])
    if template is None:
        for problem in problems or []:
            print(problem, file=sys.stderr)
        return 1
    json.dump(template, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
