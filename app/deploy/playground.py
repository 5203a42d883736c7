"""The Deploy page's try-it tabs: a request to the live service, and snippets to script it."""

from __future__ import annotations

import json
import pprint
import shlex
import urllib.error
import urllib.request
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import streamlit as st

from app import cache, state
from app.charts.display import show
from app.components import home
from app.deploy.charts import probability_figure
from app.text import label as text_label
from app.text import md
from core import words
from core.demo import sample_key
from core.store.deployments import Deployment

if TYPE_CHECKING:
    from core.serving.scoring import FormInput

CALL_TIMEOUT_S = 15.0
KEY_ENV = "MLOPS_STUDIO_API_KEY"
KIND_WORDS = {"number": "number", "text": "text", "boolean": "true/false", "datetime": "date"}
EMPTY_IS_MISSING = "empty = missing"
EXAMPLE_VALUES: dict[str, Any] = {"number": 1.0, "boolean": True, "datetime": "2024-01-31"}
NO_KEY = (
    "Paste this deployment's API key first. It was shown once, when the service was deployed or "
    "its key last rotated; if nobody has it, rotate the key (under API key, above) to get a new "
    "one."
)
KEY_UNKNOWN = (
    "This browser session has no key for this deployment: paste it below, or rotate the key "
    "(under API key, above) to get a new one."
)
SAMPLE_KEY = (
    "The sample project's key is filled in: the sample deployment's key is kept for it alone, so "
    "you can try it at once. Rotate the key (under API key, above) for one of your own."
)
REFUSED_KEY = (
    "The service refused the key (401: {detail}). Paste this deployment's current key, or rotate "
    "the key to get a new one."
)
REFUSED_INPUTS = "The service refused the inputs (422): {fields}"
NO_ANSWER = "The service at {url} did not answer ({detail}). Check its status and its log."


# -- playground ------------------------------------------------------------------------------


def playground(deployment: Deployment) -> None:
    if deployment.status != "running":
        st.info("The service is not running: start it again to try it here.")
        return
    served = cache.served_inputs(str(home()), deployment.model_version_id)
    field = state.DEPLOY_API_KEY.format(deployment_id=deployment.id)
    known = st.session_state.get(state.DEPLOY_KEYS, {}).get(deployment.id)
    sample = None if known else sample_key(home(), deployment)
    if (known or sample) and field not in st.session_state:
        st.session_state[field] = known or sample
    if sample and st.session_state.get(field) == sample:
        st.caption(SAMPLE_KEY)
    elif not known:
        st.caption(KEY_UNKNOWN)
    with st.form(state.DEPLOY_FORM.format(deployment_id=deployment.id)):
        st.caption(f"One row for {md(served.label)}; leave a field empty to send it missing.")
        grid = st.columns(3)
        record = {}
        for position, column in enumerate(served.inputs):
            with grid[position % 3]:
                record[column.name] = input_field(deployment.id, column)
        api_key = st.text_input(
            "API key",
            type="password",
            key=field,
            help="Filled in when this browser session deployed the service or rotated its key, "
            "and for the sample project's deployment.",
        )
        submitted = st.form_submit_button("Predict", type="primary", key=state.DEPLOY_PREDICT)
    answers = st.session_state.setdefault(state.DEPLOY_ANSWERS, {})
    if submitted:
        if not api_key.strip():
            st.warning(NO_KEY)
            return
        if unreadable := unreadable_dates(record, served.inputs):
            st.warning(BAD_DATES.format(names=", ".join(map(md, unreadable))))
            return
        body = {"records": [record]}
        answers[deployment.id] = call_service(f"{deployment.url}/predict", body, api_key.strip())
        answers[deployment.id]["record"] = record
    if answer := answers.get(deployment.id):
        show_answer(answer, deployment.url)


BAD_DATES = "Not a date the service can read: {names}. Write it as 2024-05-31 (or with a time)."


def unreadable_dates(record: dict[str, Any], inputs: Sequence[FormInput]) -> list[str]:
    """The date inputs whose text no date parser reads (the service would take them as
    missing without a word)."""
    import pandas as pd

    from core.serving.inputs import parse_dates

    dates = [c.name for c in inputs if c.kind == "datetime" and record.get(c.name) is not None]
    if not dates:
        return []
    parsed = parse_dates(pd.Series([record[name] for name in dates], dtype=object))
    return [name for name, value in zip(dates, parsed, strict=True) if pd.isna(value)]


DATE_PLACEHOLDER = "e.g. 2024-05-31 or 2024-05-31 14:30; empty is missing"


def input_field(deployment_id: int, column: FormInput) -> Any:
    """The widget for one model input; None when left empty (sent as missing)."""
    name, kind = column.name, column.kind
    key = state.DEPLOY_FIELD.format(deployment_id=deployment_id, name=name)
    label = f"{text_label(name)} ({KIND_WORDS.get(kind, kind)})"
    if kind == "number":
        # a column of whole numbers takes whole numbers: "3", not "3.00"
        whole = column.dtype.startswith(("int", "uint"))
        return st.number_input(
            label,
            value=None,
            step=1 if whole else None,
            format="%d" if whole else None,
            placeholder=EMPTY_IS_MISSING,
            key=key,
        )
    if kind == "boolean":
        return st.selectbox(
            label,
            [True, False],
            index=None,
            format_func=words.value,
            placeholder=EMPTY_IS_MISSING,
            key=key,
        )
    if kind == "datetime":
        # a text box, not st.date_input: Streamlit's date picker has no accessible name, so a
        # screen reader announced an unnamed field (and a model may take a time of day too)
        return st.text_input(label, placeholder=DATE_PLACEHOLDER, key=key).strip() or None
    return st.selectbox(
        label,
        list(column.levels),
        index=None,
        accept_new_options=True,
        placeholder=f"{EMPTY_IS_MISSING}; pick or type a value",
        key=key,
    )


def call_service(url: str, body: dict[str, Any], api_key: str) -> dict[str, Any]:
    """POST ``body`` as JSON with the key; {"status", "body"}, status None when nothing answered."""
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "X-API-Key": api_key},
    )
    try:
        with urllib.request.urlopen(request, timeout=CALL_TIMEOUT_S) as response:
            return {"status": response.status, "body": json.loads(response.read())}
    except urllib.error.HTTPError as error:
        raw = error.read()
        try:
            return {"status": error.code, "body": json.loads(raw)}
        except ValueError:
            return {"status": error.code, "body": {"detail": raw.decode("utf-8", "replace")}}
    except (OSError, ValueError) as error:
        return {"status": None, "body": {"detail": str(getattr(error, "reason", error))}}


def show_answer(answer: dict[str, Any], url: str) -> None:
    status, body = answer["status"], answer["body"]
    detail = body.get("detail") if isinstance(body, dict) else body
    if status is None:
        st.error(NO_ANSWER.format(url=md(url), detail=md(detail)))
    elif status == 401:
        st.error(REFUSED_KEY.format(detail=md(detail)))
    elif status == 422:
        st.error(REFUSED_INPUTS.format(fields=field_errors(detail)))
    elif status != 200:
        st.error(f"The service answered {status}: {md(detail)}")
    else:
        prediction(body)


def field_errors(detail: Any) -> str:
    if not isinstance(detail, list):
        return md(detail)
    parts = []
    for item in detail:
        where = [str(part) for part in item.get("loc", []) if part not in ("body", "records", 0)]
        parts.append(f"{md(' → '.join(where) or 'request')}: {md(item.get('msg', ''))}")
    return "; ".join(parts)


def prediction(body: dict[str, Any]) -> None:
    left, right = st.columns([1, 2])
    left.metric("Prediction", str(body["predictions"][0]))
    left.caption(f"Request id `{body['request_id']}`")
    left.caption(f"Served by {md(body['model_version'])}")
    if body.get("unseen_categories"):
        left.warning("A text value was never seen in training: the model treats it as unknown.")
    elif any(body.get("out_of_distribution") or ()):
        left.warning("A number is outside the range seen in training: trust this answer less.")
    if body.get("probabilities"):
        figure = probability_figure(body["classes"], body["probabilities"][0])
        show(figure, key="deploy.probabilities", where=right)


# -- snippets --------------------------------------------------------------------------------


def snippets(deployment: Deployment) -> None:
    served = cache.served_inputs(str(home()), deployment.model_version_id)
    answer = st.session_state.get(state.DEPLOY_ANSWERS, {}).get(deployment.id) or {}
    record = answer.get("record") or example_record(served.inputs)
    label = served.classes[0] if served.classes else 1.0
    st.markdown(f"Keep the key out of your code: `export {KEY_ENV}=<the key>`.")
    st.markdown("**curl**")
    st.code(
        curl_snippet(deployment.url, "/predict", {"records": [record]}),
        language="bash",
        wrap_lines=True,
    )
    st.markdown("**Python**")
    st.code(python_snippet(deployment.url, record), language="python")
    st.markdown("**MLflow-style** `/invocations` (`dataframe_split`, `dataframe_records`, …)")
    split = {"dataframe_split": {"columns": list(record), "data": [list(record.values())]}}
    st.code(curl_snippet(deployment.url, "/invocations", split), language="bash", wrap_lines=True)
    st.markdown("**Feedback**: the true label of an answered request, for monitoring")
    feedback = {"request_id": "<request_id from the answer>", "label": label}
    st.code(curl_snippet(deployment.url, "/feedback", feedback), language="bash", wrap_lines=True)


def example_record(inputs: Sequence[FormInput]) -> dict[str, Any]:
    """A row the service accepts: a known level for text, a placeholder for the rest."""
    return {
        column.name: (column.levels or ("text",))[0]
        if column.kind == "text"
        else EXAMPLE_VALUES.get(column.kind)
        for column in inputs
    }


def curl_snippet(url: str, path: str, body: dict[str, Any]) -> str:
    return (
        f"curl -X POST {shlex.quote(url + path)} \\\n"
        f'  -H "Authorization: Bearer ${KEY_ENV}" \\\n'
        "  -H 'Content-Type: application/json' \\\n"
        f"  -d {shlex.quote(json.dumps(body))}"
    )


def python_snippet(url: str, record: dict[str, Any]) -> str:
    row = pprint.pformat(record, sort_dicts=False, width=90)
    return (
        "import os\n\n"
        "import httpx  # pip install httpx\n\n"
        f"URL = {url!r}\n"
        f'HEADERS = {{"Authorization": f"Bearer {{os.environ[\'{KEY_ENV}\']}}"}}\n\n'
        f"record = {row}\n"
        'response = httpx.post(f"{URL}/predict", json={"records": [record]}, headers=HEADERS)\n'
        "response.raise_for_status()\n"
        "answer = response.json()\n"
        'print(answer["predictions"][0], answer.get("probabilities"), answer["request_id"])'
    )
