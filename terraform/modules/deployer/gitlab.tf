# The GitLab deployer: customer-managed policies, one per concern, attached to a group (reusable by any principal
# that deploys this stage), an IAM user in that group, and a keyless OIDC role with the same policies.
resource "aws_iam_policy" "deployer" {
  for_each = var.deployer_policies

  name        = each.value.name
  description = each.value.description
  policy      = each.value.policy
}

resource "aws_iam_group" "deployers" {
  name = var.names.gitlab_group
}

resource "aws_iam_group_policy_attachment" "deployers" {
  for_each = aws_iam_policy.deployer

  group      = aws_iam_group.deployers.name
  policy_arn = each.value.arn
}

# No aws_iam_access_key here: a key in Terraform would sit in the state. Keys are created, stored as masked and
# protected GitLab variables, and rotated by hand (docs/iam.md); the OIDC role below needs none.
resource "aws_iam_user" "gitlab" {
  #checkov:skip=CKV_AWS_273:The brief asks for an IAM user for GitLab runners; the keyless OIDC role is offered beside it and preferred.
  name = var.names.gitlab_user
}

resource "aws_iam_user_group_membership" "gitlab" {
  user   = aws_iam_user.gitlab.name
  groups = [aws_iam_group.deployers.name]
}

# The provider exists once per account and URL: the account layer (cloudformation/account.yml, `cargo xtask
# bootstrap`) owns it, never a stage, so no stage teardown can remove it from under the others. Read here so that a
# plan in an account without the account layer stops with the provider's name instead of failing at role creation.
data "aws_iam_openid_connect_provider" "gitlab" {
  arn = var.gitlab_oidc_provider_arn
}

resource "aws_iam_role" "gitlab_oidc" {
  name                 = var.names.gitlab_oidc_role
  description          = "Assumed by GitLab CI (id_tokens) of this project on its release refs: deploys the stage"
  assume_role_policy   = var.gitlab_oidc_trust_policy
  max_session_duration = 3600

  depends_on = [data.aws_iam_openid_connect_provider.gitlab]
}

resource "aws_iam_role_policy_attachment" "gitlab_oidc" {
  for_each = aws_iam_policy.deployer

  role       = aws_iam_role.gitlab_oidc.name
  policy_arn = each.value.arn
}

# The read-only plan identity: merge-request plans and plan:prod. Its document allows describe/get/list, the stage's
# state and the state's lock object, nothing else (modules/iam_policies/tests/isolation.tftest.hcl).
resource "aws_iam_role" "plan" {
  name                 = var.names.plan_role
  description          = "Assumed by every GitLab CI pipeline of this project: read-only Terraform plans of the stage"
  assume_role_policy   = var.plan_trust_policy
  max_session_duration = 3600

  depends_on = [data.aws_iam_openid_connect_provider.gitlab]
}

resource "aws_iam_role_policy" "plan" {
  name   = "read-only-plan"
  role   = aws_iam_role.plan.id
  policy = var.plan_policy
}
