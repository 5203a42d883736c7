"""Deploy: a model version as a live REST service; follow it, try it, script it, score files."""

import streamlit as st

from app.components import home
from app.deploy import playground, sections
from core.serving.deployments import list_deployments

st.title("Deploy")
# services outlive the browser and the studio: find them again (and revive any whose
# supervisor died) when a session first opens this page
sections.reattach_once()
versions = sections.registered_versions()
if not versions:
    sections.no_versions()
    st.stop()

sections.flash()
found = list_deployments(home())
sections.new_deployment(versions, expanded=not any(d.active for d in found))
sections.key_notice(why="deploy")
sections.startup_progress()

st.subheader("Deployments")
found = list_deployments(home())
if not found:
    st.info("Nothing deployed yet: pick a version above and click Deploy.")
    st.stop()
sections.deployments_table()
deployment = sections.deployment_picker(found)
sections.live_status(deployment.id, deployment.status)
sections.actions(deployment, versions)

version = versions[deployment.model_version_id]
trying, scripting, batch, log = st.tabs(["Playground", "Snippets", "Batch scoring", "Log"])
with trying:
    playground.playground(deployment)
with scripting:
    playground.snippets(deployment)
with batch:
    sections.batch_scoring(deployment, version)
with log:
    sections.service_log(deployment.id)
