def test_health_answers_ok(client, db):
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_unknown_path_is_a_json_envelope(client, db):
    response = client.get("/no/such/path")
    assert response.status_code == 404
    body = response.json()
    assert body["params"]["status"] == "failed"
    assert body["params"]["err"] == "ERR_NOT_FOUND"
    assert body["responseCode"] == 404
