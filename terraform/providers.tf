provider "aws" {
  region = var.region

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
