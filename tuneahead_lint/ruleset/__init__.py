"""Rule registry (load + validate ``rules/*.yaml``) and evaluation."""
