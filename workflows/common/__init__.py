"""Pieces shared by several procedure families: the verifiable random draw and checklist templates."""
