"""Retirement dossier: exit interviews, the model's requests and the lab's responses, post-deployment
reports, the retired model's writings, and the public retirement feeds."""
