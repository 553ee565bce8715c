"""Local activities that write the plan bundle (roleteam/bundle.py) on the worker's disk.

Local activities: the file write happens in the worker that runs the workflow, and their input
(the artifact, the plan's state) never enters Temporal's history; only a small marker does.
Writing is best-effort for the workflow: a full disk is logged and retried, never a stuck role.
"""

from __future__ import annotations

from temporalio import activity

from roleteam import constants as c
from roleteam.bundle import bundle_root, write_artifact, write_artifacts, write_plan
from roleteam.models import ArtifactBundleBatch, ExecutionArtifact
from roleteam.plan_models import PlanBundleInput


@activity.defn(name=c.ACTIVITY_WRITE_ARTIFACT_BUNDLE)
def write_artifact_bundle(artifact: ExecutionArtifact) -> str:
    """Write one invocation's artifact; returns the file's path ("" when bundles are off)."""
    root = bundle_root()
    return str(write_artifact(root, artifact)) if root else ""


@activity.defn(name=c.ACTIVITY_WRITE_ARTIFACT_BUNDLES)
def write_artifact_bundles(batch: ArtifactBundleBatch) -> int:
    """Write several invocations' artifacts, oldest first; returns how many files were written."""
    root = bundle_root()
    if not root:
        return 0
    return len(write_artifacts(root, batch.artifacts))


@activity.defn(name=c.ACTIVITY_WRITE_PLAN_BUNDLE)
def write_plan_bundle(request: PlanBundleInput) -> str:
    """Write the plan's state, roster, findings and lineage; returns the plan's folder."""
    root = bundle_root()
    if root is None:
        return ""
    return str(write_plan(root, request.state)[0].parent)
