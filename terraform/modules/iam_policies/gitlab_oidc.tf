# Trust of the GitLab roles: CI id_tokens of this project, from the account's GitLab OIDC provider (the account layer,
# cloudformation/account.yml; IAM names a provider after its URL, so its ARN is known without reading it).
#
# Condition keys: for an OIDC provider, IAM offers the token's claims as <provider host>:aud and <provider host>:sub
# (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_iam-condition-keys.html#condition-keys-wif).
# GitLab's sub is project_path:<group>/<project>:ref_type:<branch|tag>:ref:<name>, and aud is what the job asked for in
# id_tokens (https://docs.gitlab.com/ci/secrets/id_token_authentication/). AWS sees nothing else: not the GitLab
# environment, not whether the ref is protected. So the deploy role of a protected stage trusts only a protected tag
# pattern (gitlab_release_tag_pattern), which only maintainers can create.
locals {
  gitlab_host = trimprefix(var.gitlab_url, "https://")

  gitlab_oidc_provider_arn = "arn:${local.p}:iam::${local.a}:oidc-provider/${local.gitlab_host}"

  gitlab_sub_prefix = "project_path:${var.gitlab_project_path}"

  # The deploy and apply identities: the release tags, or else the listed (protected) branches. (Encoded to choose:
  # the two condition objects have different shapes.)
  gitlab_tag_condition = {
    StringEquals = { "${local.gitlab_host}:aud" = var.gitlab_url }
    StringLike   = { "${local.gitlab_host}:sub" = "${local.gitlab_sub_prefix}:ref_type:tag:ref:${coalesce(var.gitlab_release_tag_pattern, "-")}" }
  }
  gitlab_branch_condition = {
    StringEquals = {
      "${local.gitlab_host}:aud" = var.gitlab_url
      # Exact values, no wildcard: a merge request or feature branch pipeline never matches.
      "${local.gitlab_host}:sub" = [for ref in var.gitlab_allowed_refs : "${local.gitlab_sub_prefix}:ref_type:branch:ref:${ref}"]
    }
  }
  gitlab_deploy_condition = jsondecode(var.gitlab_release_tag_pattern != null ? jsonencode(local.gitlab_tag_condition) : jsonencode(local.gitlab_branch_condition))

  gitlab_oidc_trust_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = var.gitlab_release_tag_pattern != null ? "GitLabReleaseTagsOfThisProject" : "GitLabProtectedBranchesOfThisProject"
      Effect    = "Allow"
      Principal = { Federated = local.gitlab_oidc_provider_arn }
      Action    = "sts:AssumeRoleWithWebIdentity"
      Condition = local.gitlab_deploy_condition
    }]
  })

  # The read-only plan identity: every pipeline of this project, merge requests included (it can change nothing).
  plan_trust_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "GitLabPipelinesOfThisProject"
      Effect    = "Allow"
      Principal = { Federated = local.gitlab_oidc_provider_arn }
      Action    = "sts:AssumeRoleWithWebIdentity"
      Condition = {
        StringEquals = { "${local.gitlab_host}:aud" = var.gitlab_url }
        StringLike = { "${local.gitlab_host}:sub" = [
          "${local.gitlab_sub_prefix}:ref_type:branch:ref:*",
          "${local.gitlab_sub_prefix}:ref_type:tag:ref:*",
        ] }
      }
    }]
  })
}
