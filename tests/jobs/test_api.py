"""The job API over real PostgreSQL and Redis, driven through HTTP in-process."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support import job_row

pytestmark = pytest.mark.usefixtures("database")

SIMULATE = {"kind": "simulate", "params": {"steps": 1, "step_s": 0}}


async def submit(client: Any, body: dict[str, Any] | None = None, **headers: str) -> Any:
    return await client.post("/jobs", json=SIMULATE if body is None else body, headers=headers)


async def test_submitting_a_job_answers_202_with_a_pending_job(client: Any) -> None:
    response = await submit(client)

    assert response.status_code == 202
    job = response.json()
    assert job["status"] == "pending"
    assert job["kind"] == "simulate"
    assert job["attempts"] == 0
    assert job["params"] == {"steps": 1, "step_s": 0.0, "fail_rate": 0.0, "fail_kind": "transient"}
    row = await job_row(job["id"])
    assert row["status"] == "pending"
    assert row["enqueued_at"] is not None


async def test_the_job_is_readable_by_its_id(client: Any) -> None:
    job = (await submit(client)).json()

    response = await client.get(f"/jobs/{job['id']}")

    assert response.status_code == 200
    assert response.json()["id"] == job["id"]


async def test_an_unknown_job_is_404(client: Any) -> None:
    response = await client.get("/jobs/01939f9c-0000-7000-8000-000000000000")

    assert response.status_code == 404
    assert "not found" in response.json()["detail"]


async def test_a_malformed_job_id_is_a_client_error(client: Any) -> None:
    response = await client.get("/jobs/not-a-uuid")

    assert response.status_code in (400, 404)


async def test_the_list_is_newest_first_and_filtered_by_status_and_kind(client: Any) -> None:
    first = (await submit(client)).json()
    second = (await submit(client)).json()
    third = (await submit(client, {"input_text": "A short text to summarise."})).json()
    await client.post(f"/jobs/{first['id']}/cancel")

    everything = (await client.get("/jobs")).json()
    pending = (await client.get("/jobs", params={"status": "pending"})).json()
    simulated = (await client.get("/jobs", params={"kind": "simulate"})).json()
    page = (await client.get("/jobs", params={"limit": 1, "offset": 1})).json()

    assert [job["id"] for job in everything["items"]] == [third["id"], second["id"], first["id"]]
    assert everything["total"] == 3
    assert [job["id"] for job in pending["items"]] == [third["id"], second["id"]]
    assert {job["id"] for job in simulated["items"]} == {first["id"], second["id"]}
    assert page == {**page, "total": 3, "limit": 1, "offset": 1}
    assert [job["id"] for job in page["items"]] == [second["id"]]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "sleeping"}, "status"),
        ({"limit": 0}, "limit"),
        ({"limit": 501}, "limit"),
        ({"offset": -1}, "offset"),
        ({"offset": 10**30}, "offset"),
        ({"kind": "simu\x00late"}, "kind"),
        ({"kind": "Not A Kind"}, "kind"),
    ],
)
async def test_a_bad_list_parameter_is_400_naming_it(
    client: Any, params: dict[str, Any], field: str
) -> None:
    response = await client.get("/jobs", params=params)

    assert response.status_code == 400
    assert response.json()["detail"].startswith(f"{field}:")


def nested(levels: int) -> dict[str, Any]:
    """A params object with `levels` more objects nested inside it."""
    value: dict[str, Any] = {}
    for _ in range(levels):
        value = {"a": value}
    return value


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "simulate", "params": {"steps": "many"}}, "params.steps"),
        ({"kind": "simulate", "params": {"steps": -1}}, "params.steps"),
        ({"kind": "simulate", "params": {"fail_rate": 2}}, "params.fail_rate"),
        ({"kind": "simulate", "params": {"fail_kind": "sometimes"}}, "params.fail_kind"),
        ({"kind": "simulate", "params": {"stepz": 3}}, "params"),
        ({"kind": "translate", "input_text": "hello"}, "kind"),
        ({"kind": "Bad Kind!", "input_text": "hello"}, "kind"),
        ({"input_text": ""}, "input_text"),
        ({"input_text": 42}, "input_text"),
        ({}, "input_text"),
        ({"input_text": "a", "input_file_path": "b.txt"}, "input_text"),
        ({"input_file_path": "/etc/passwd"}, "input_file_path"),
        ({"input_file_path": "../secrets.txt"}, "input_file_path"),
        ({"input_file_path": "reports/../../x.txt"}, "input_file_path"),
        ({"input_text": "a", "webhook_url": "ftp://example.com"}, "webhook_url"),
        ({"input_text": "a", "colour": "blue"}, "colour"),
        ({"kind": "simulate", "params": [1, 2]}, "params"),
        ({"kind": "simulate", "params": {"pad": "x" * 17000}}, "params"),
        ({"kind": "simulate", "params": nested(8)}, "params"),
        ({"input_text": "a", "webhook_url": "https://example.com/" + "x" * 2030}, "webhook_url"),
        ({"input_text": "nul \x00 inside"}, "input_text"),
        ({"input_file_path": "reports/q1\x00.md"}, "input_file_path"),
        ({"kind": "simulate", "params": {"note": "\x00"}}, "params"),
    ],
)
async def test_an_invalid_field_is_400_naming_it_and_nothing_is_stored(
    client: Any, body: dict[str, Any], field: str
) -> None:
    response = await submit(client, body)

    assert response.status_code == 400, response.text
    detail = response.json()["detail"]
    assert detail.startswith(field), detail
    assert (await client.get("/jobs")).json()["total"] == 0


async def test_params_nested_thousands_deep_are_refused_without_a_crash(client: Any) -> None:
    levels = 4000
    body = '{"kind": "simulate", "params": ' + '{"a": ' * levels + "{}" + "}" * levels + "}"

    response = await client.post(
        "/jobs", content=body, headers={"content-type": "application/json"}
    )

    assert response.status_code == 400
    assert response.json()["detail"] == "body: nested too deeply to read"
    assert (await client.get("/jobs")).json()["total"] == 0


async def test_a_body_that_is_not_json_is_400(client: Any) -> None:
    response = await client.post(
        "/jobs", content=b"{not json", headers={"content-type": "application/json"}
    )

    assert response.status_code == 400


async def test_a_body_over_one_mebibyte_is_413(client: Any) -> None:
    body = json.dumps({"input_text": "x" * (1024 * 1024 + 1)})

    response = await client.post(
        "/jobs", content=body, headers={"content-type": "application/json"}
    )

    assert response.status_code == 413
    assert (await client.get("/jobs")).json()["total"] == 0


async def test_a_batch_creates_every_job(client: Any) -> None:
    response = await client.post("/jobs/batch", json={"jobs": [SIMULATE] * 3})

    assert response.status_code == 202
    assert len(response.json()["items"]) == 3
    assert (await client.get("/jobs")).json()["total"] == 3


async def test_a_batch_with_one_bad_job_creates_none_and_names_it(client: Any) -> None:
    bad = {"kind": "simulate", "params": {"steps": "x"}}

    response = await client.post("/jobs/batch", json={"jobs": [SIMULATE, bad, SIMULATE]})

    assert response.status_code == 400
    assert response.json()["detail"].startswith("jobs[1].params.steps")
    assert (await client.get("/jobs")).json()["total"] == 0


@pytest.mark.parametrize("size", [0, 1001])
async def test_a_batch_outside_one_to_a_thousand_is_400(client: Any, size: int) -> None:
    response = await client.post("/jobs/batch", json={"jobs": [SIMULATE] * size})

    assert response.status_code == 400
    assert response.json()["detail"].startswith("jobs")


async def test_canceling_a_pending_job_finishes_it_at_once(client: Any) -> None:
    job = (await submit(client)).json()

    response = await client.post(f"/jobs/{job['id']}/cancel")

    assert response.status_code == 202
    assert response.json()["status"] == "canceled"
    assert response.json()["finished_at"] is not None


async def test_canceling_a_finished_job_is_409(client: Any) -> None:
    job = (await submit(client)).json()
    await client.post(f"/jobs/{job['id']}/cancel")

    response = await client.post(f"/jobs/{job['id']}/cancel")

    assert response.status_code == 409
    assert "already canceled" in response.json()["detail"]


async def test_retrying_a_job_that_did_not_fail_is_409(client: Any) -> None:
    job = (await submit(client)).json()

    response = await client.post(f"/jobs/{job['id']}/retry")

    assert response.status_code == 409
    assert "only failed or canceled" in response.json()["detail"]


async def test_canceling_or_retrying_an_unknown_job_is_404(client: Any) -> None:
    missing = "01939f9c-0000-7000-8000-000000000000"

    assert (await client.post(f"/jobs/{missing}/cancel")).status_code == 404
    assert (await client.post(f"/jobs/{missing}/retry")).status_code == 404


async def test_retrying_a_canceled_job_puts_it_back_in_the_queue(client: Any) -> None:
    job = (await submit(client)).json()
    await client.post(f"/jobs/{job['id']}/cancel")

    response = await client.post(f"/jobs/{job['id']}/retry")

    assert response.status_code == 202
    retried = response.json()
    assert retried["status"] == "pending"
    assert retried["finished_at"] is None
    assert retried["cancel_requested"] is False


async def test_the_same_idempotency_key_and_body_return_the_first_job(client: Any) -> None:
    first = await submit(client, SIMULATE, **{"Idempotency-Key": "order-1"})

    again = await submit(client, SIMULATE, **{"Idempotency-Key": "order-1"})

    assert first.status_code == 202
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert (await client.get("/jobs")).json()["total"] == 1


async def test_the_same_idempotency_key_with_another_body_is_422(client: Any) -> None:
    await submit(client, SIMULATE, **{"Idempotency-Key": "order-2"})

    other = await submit(client, {"input_text": "different"}, **{"Idempotency-Key": "order-2"})

    assert other.status_code == 422
    assert "different request body" in other.json()["detail"]
    assert (await client.get("/jobs")).json()["total"] == 1


async def test_concurrent_requests_with_one_idempotency_key_make_one_job(client: Any) -> None:
    responses = await asyncio.gather(
        *(submit(client, SIMULATE, **{"Idempotency-Key": "burst"}) for _ in range(8))
    )

    codes = sorted(response.status_code for response in responses)
    assert codes.count(202) == 1, codes
    assert set(codes) <= {200, 202, 409}
    ids = {response.json()["id"] for response in responses if response.status_code < 300}
    assert len(ids) == 1
    assert (await client.get("/jobs")).json()["total"] == 1


@pytest.fixture
def sessions_made(app: Any) -> Iterator[list[Any]]:
    """Every request session the app makes while the test runs."""
    key = app.state.alchemy.session_maker_app_state_key
    make = app.state[key]
    made: list[Any] = []

    def make_and_keep() -> Any:
        made.append(make())
        return made[-1]

    app.state[key] = make_and_keep
    yield made
    app.state[key] = make


async def test_only_a_keyed_submit_opens_a_request_session(
    client: Any, sessions_made: list[Any]
) -> None:
    single = await submit(client)
    batch = await client.post("/jobs/batch", json={"jobs": [SIMULATE, SIMULATE]})

    assert (single.status_code, batch.status_code) == (202, 202)
    assert sessions_made == []

    keyed = await submit(client, SIMULATE, **{"Idempotency-Key": "order-3"})
    replay = await submit(client, SIMULATE, **{"Idempotency-Key": "order-3"})

    assert (keyed.status_code, replay.status_code) == (202, 200)
    assert len(sessions_made) == 2
    assert not any(session.in_transaction() for session in sessions_made)
    assert (await client.get("/jobs")).json()["total"] == 4


async def test_an_empty_idempotency_key_is_400(client: Any) -> None:
    response = await submit(client, SIMULATE, **{"Idempotency-Key": ""})

    assert response.status_code == 400


async def test_the_openapi_document_describes_the_job_routes(client: Any) -> None:
    response = await client.get("/schema/openapi.json")

    assert response.status_code == 200
    paths = response.json()["paths"]
    assert {"/jobs", "/jobs/batch", "/jobs/{job_id}", "/admin/stats"} <= set(paths)


async def test_a_symlink_out_of_data_dir_is_refused_at_submit(client: Any, tmp_path: Any) -> None:
    from aijobs.settings import get_settings

    data_dir = get_settings().data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    secret = tmp_path / "secret.txt"
    secret.write_text("not for clients")
    link = data_dir / "escape.txt"
    link.unlink(missing_ok=True)
    link.symlink_to(secret)
    try:
        response = await submit(client, {"input_file_path": "escape.txt"})
    finally:
        link.unlink()

    assert response.status_code == 400
    assert response.json()["detail"] == "input_file_path: points outside DATA_DIR"


async def test_a_file_that_does_not_exist_is_accepted_at_submit(client: Any) -> None:
    response = await submit(client, {"input_file_path": "later/report.md"})

    assert response.status_code == 202
