"""The bundled policy files (roles.yaml, teams.yaml, skills.yaml), installed as `roleteam.policies`.

Data only: `roleteam.registry.policy_dir` finds this folder with `importlib.resources`.
"""
