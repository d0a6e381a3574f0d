"""The morning check-in page /checkin (one tap records a reading), the "How is it now?" form on
/symptoms and POST /api/symptoms/{id}/updates: the reading lands in the symptom's history, another
athlete's symptom is 404, a POST without the CSRF token is refused."""

from __future__ import annotations

import re
from datetime import timedelta

from loadmon.service import symptoms as symptom_service
from tests.web.conftest import csrf_of


def _knee(web, name: str = "ann", severity: int = 5, note: str | None = None):
    return symptom_service.add_symptom(
        web.svc, web.svc.athlete(name), "knee", "right", "lateral", severity, at=web.clock.now - timedelta(hours=2), note=note
    )


def _history(web, symptom_id: int, name: str = "ann") -> list[int]:
    (s,) = [s for s in symptom_service.list_symptoms(web.svc, web.svc.athlete(name)) if s.id == symptom_id]
    return [severity for _at, severity in s.readings()]


def test_one_tap_records_the_reading_and_confirms_it(web):
    with web.client() as c:
        web.login(c)
        page = c.get("/checkin").text
        assert "Nothing to check in" in page
        knee = _knee(web)
        page = c.get("/checkin").text
        assert "How is your right knee (lateral)?" in page and "Last reading 5/10" in page
        form = re.search(r'<form method="post" action="/checkin".*?</form>', page, flags=re.S).group(0)
        assert f'name="symptom_id" value="{knee.id}"' in form
        assert re.findall(r'name="severity" value="(\d+)"', form) == [str(n) for n in range(11)]
        r = c.post("/checkin", data={"csrf_token": csrf_of(page), "symptom_id": str(knee.id), "severity": "3"})
        assert (r.status_code, r.headers["location"]) == (303, f"/checkin?recorded={knee.id}")
        done = c.get(r.headers["location"]).text
        assert "Recorded: right knee 3/10" in done and "checked in today" in done
        assert _history(web, knee.id) == [5, 3]
        (item,) = c.get("/api/symptoms").json()
        assert item["severity_now"] == 3 and [u["severity"] for u in item["updates"]] == [3]
        assert "now 3/10" in c.get("/symptoms").text
        bad = c.post("/checkin", data={"csrf_token": csrf_of(page), "symptom_id": str(knee.id), "severity": "11"})
        assert bad.status_code == 400 and "0-10" in bad.text
    assert _history(web, knee.id) == [5, 3]


def test_another_athletes_symptom_is_404_and_csrf_is_required(web):
    theirs = _knee(web, "bob", note="bob private note")
    mine = _knee(web)
    with web.client() as c:
        web.login(c, "ann")
        token = csrf_of(c.get("/checkin").text)
        assert "bob private note" not in c.get("/checkin").text
        for symptom_id in (str(theirs.id), "999999", "abc", ""):
            r = c.post("/checkin", data={"csrf_token": token, "symptom_id": symptom_id, "severity": "2"})
            assert r.status_code == 404 and "bob" not in r.text, symptom_id
        assert c.post(f"/symptoms/{theirs.id}/updates", data={"csrf_token": token, "severity": "2"}).status_code == 404
        me = c.get("/api/session").json()
        r = c.post(f"/api/symptoms/{theirs.id}/updates", json={"severity": 2}, headers={"X-CSRF-Token": me["csrf_token"]})
        assert r.status_code == 404 and r.json() == {"error": "not found"}
        for data in ({"symptom_id": str(mine.id), "severity": "2"}, {"symptom_id": str(mine.id), "severity": "2", "csrf_token": "wrong"}):
            assert c.post("/checkin", data=data).status_code == 403
        assert c.post(f"/symptoms/{mine.id}/updates", data={"severity": "2"}).status_code == 403
        assert c.post(f"/api/symptoms/{mine.id}/updates", json={"severity": 2}).status_code == 403
    assert _history(web, theirs.id, "bob") == [5] and _history(web, mine.id) == [5]


def test_the_symptoms_page_form_and_the_json_api_record_a_reading(web):
    knee = _knee(web)
    with web.client() as c:
        web.login(c)
        page = c.get("/symptoms").text
        assert f'action="/symptoms/{knee.id}/updates"' in page and "How is it now?" in page
        r = c.post(f"/symptoms/{knee.id}/updates", data={"csrf_token": csrf_of(page), "severity": "4"})
        assert (r.status_code, r.headers["location"]) == (303, "/symptoms")
        me = c.get("/api/session").json()
        at = (web.clock.now - timedelta(minutes=30)).isoformat()
        r = c.post(f"/api/symptoms/{knee.id}/updates", json={"severity": 6, "at": at}, headers={"X-CSRF-Token": me["csrf_token"]})
        assert r.status_code == 201
        body = r.json()
        assert body["id"] == knee.id and [u["severity"] for u in body["updates"]] == [6, 4]  # by time: 6 came first
        bad = c.post(f"/api/symptoms/{knee.id}/updates", json={"severity": 12}, headers={"X-CSRF-Token": me["csrf_token"]})
        assert bad.status_code == 400 and "0-10" in bad.json()["error"]
        assert c.post(f"/api/symptoms/{knee.id}/updates", json=[1], headers={"X-CSRF-Token": me["csrf_token"]}).status_code == 400
    assert _history(web, knee.id) == [5, 6, 4]
