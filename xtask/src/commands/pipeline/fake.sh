#!/bin/sh
# A recording stand-in for `aws` and `terraform` inside the pipeline's jobs: it appends the job, the identity the job's
# credential set-up chose and the command line to $PMP_PIPELINE_RECORD, then answers as the real tool would.
tool="$(basename "$0")"
if [ -n "$AWS_ROLE_ARN" ]; then mode="oidc:$(cat "$AWS_WEB_IDENTITY_TOKEN_FILE" 2>/dev/null)"; else mode="keys:$AWS_ACCESS_KEY_ID"; fi
echo "$CI_JOB_NAME|$PMP_IDENTITY|$mode|$tool $*" >> "$PMP_PIPELINE_RECORD"
case "$tool $*" in
  "aws --version") echo "aws-cli/2.17.0 Python/3.11.6 Linux/6" ;;
  "terraform version"|"terraform --version") echo "Terraform v1.11.4" ;;
  "aws sts get-caller-identity"*)
    # The principals docs/iam.md names: the deployer is the GitLab user with keys, its OIDC role otherwise.
    case "$PMP_IDENTITY:$mode" in
      deployer:keys:*) echo "arn:aws:iam::123456789012:user/pmp-api-dev-gitlab" ;;
      deployer:*) echo "arn:aws:sts::123456789012:assumed-role/pmp-api-dev-gitlab-oidc/gitlab" ;;
      *) echo "arn:aws:sts::123456789012:assumed-role/pmp-api-dev-$PMP_IDENTITY/gitlab" ;;
    esac ;;
  "aws lambda invoke "*)
    # The migration function's answer, written where the invoke puts it (its last argument).
    eval "answer=\${$#}"
    # In CI target/ exists (cargo built there); here the jobs build in the shared CARGO_TARGET_DIR instead.
    mkdir -p "$(dirname "$answer")"
    echo '{"applied":[20240101000000],"current_version":20240101000000}' > "$answer"
    echo '{"StatusCode": 200, "ExecutedVersion": "$LATEST"}' ;;
  "aws cloudformation describe-stacks"*) echo "pmp-fake-output" ;;
  "terraform "*" plan "*)
    out="$(printf '%s\n' "$@" | sed -n 's/^-out=//p')"
    printf 'plan made by job %s\n' "$CI_JOB_ID" > "terraform/$out"
    printf '# lock made by job %s\n' "$CI_JOB_ID" > terraform/.terraform.lock.hcl
    echo "planned:$(sha256sum "terraform/$out" | cut -c1-64):$(sha256sum terraform/.terraform.lock.hcl | cut -c1-64)" >> "$PMP_PIPELINE_RECORD" ;;
  "terraform "*" show -json "*) echo '{"resource_changes":[]}' ;;
  "terraform "*" apply "*)
    plan="$(eval echo "\${$#}")"
    echo "applied:$(sha256sum "terraform/$plan" | cut -c1-64):$(sha256sum terraform/.terraform.lock.hcl | cut -c1-64)" >> "$PMP_PIPELINE_RECORD" ;;
esac
exit 0
