"""The bundled skill documents (`<name>/SKILL.md`), installed as `roleteam.bundled_skills`.

Data only: `roleteam.skills.loader.skill_roots` finds this folder with `importlib.resources`.
"""
