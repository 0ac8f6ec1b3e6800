# Trust of the keyless deployer role: GitLab CI id_tokens of this project, on the allowed (protected) branches only.
locals {
  gitlab_host = trimprefix(var.gitlab_url, "https://")

  # IAM names an OIDC provider after its URL without the scheme, so the ARN is known before it exists.
  gitlab_oidc_provider_arn = var.gitlab_oidc_provider_arn != "" ? var.gitlab_oidc_provider_arn : "arn:${local.p}:iam::${local.a}:oidc-provider/${local.gitlab_host}"

  gitlab_oidc_trust_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "GitLabProtectedRefsOfThisProject"
      Effect    = "Allow"
      Principal = { Federated = local.gitlab_oidc_provider_arn }
      Action    = "sts:AssumeRoleWithWebIdentity"
      Condition = {
        StringEquals = {
          # The id_token's aud is what .gitlab-ci.yml asks for (id_tokens: ...: aud:); it must be gitlab_url.
          "${local.gitlab_host}:aud" = var.gitlab_url
          # GitLab's sub: project_path:<group>/<project>:ref_type:branch:ref:<branch>. Exact values, no wildcard:
          # a merge request or feature branch pipeline never matches.
          "${local.gitlab_host}:sub" = [
            for ref in var.gitlab_allowed_refs : "project_path:${var.gitlab_project_path}:ref_type:branch:ref:${ref}"
          ]
        }
      }
    }]
  })
}
