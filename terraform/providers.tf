provider "aws" {
  region = var.region

  # The stage's account (stages/<stage>.tfvars): credentials for any other account fail before the first read.
  # cargo xtask checks the same before it runs anything.
  allowed_account_ids = [var.account_id]

  # Every resource says what it belongs to and where its code lives; cost reports and clean-ups rely on it.
  default_tags {
    tags = {
      project    = "pmp"
      stage      = var.stage
      managed-by = "terraform"
      repository = "${trimsuffix(var.gitlab_url, "/")}/${var.gitlab_project_path}"
    }
  }
}
