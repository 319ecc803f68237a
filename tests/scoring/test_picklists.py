"""Picklist values (categories, list items) compare ignoring case and
spacing wherever they are compared, and the imports warn about category
values no live or draft criterion names."""

import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from profiles import services as profile_services
from profiles.models import Profile, ProfileVersion, Trait, User
from scoring import services
from scoring.api_keys import api_key_create
from scoring.ingest.importer import accounts_import
from scoring.ingest.jobs import file_import, import_job_run
from scoring.models import Account, AccountScore, ScoringRun
from scoring.policies import IMPORT_PERMISSION
from scoring.preview import impact_preview
from tests.drafting import fill, with_criteria
from tests.factories import AccountFactory, UserFactory, VersionFactory
from tests.importing import queued
from tests.runs import run_all

if TYPE_CHECKING:
    from rest_framework.response import _MonkeyPatchedResponse as ApiResponse

pytestmark = pytest.mark.django_db

UPSERT = "/api/v1/accounts/bulk-upsert/"


@pytest.fixture
def writer() -> APIClient:
    """A CRM integration's client with a write key."""
    staff = UserFactory.create(username="staff", is_staff=True, permissions=[IMPORT_PERMISSION])
    client = APIClient()
    key = api_key_create(actor=staff, name="CRM", user=staff, scope="write").plaintext
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


def push(client: APIClient, rows: list[dict[str, Any]], **extra: Any) -> "ApiResponse":
    return client.post(UPSERT, {"accounts": rows, **extra}, format="json")


def row(external_id: str, **fields: Any) -> dict[str, Any]:
    return {"external_id": external_id, "name": f"Company {external_id}", **fields}


def version_with(
    profile: Profile, status: str, *criteria: tuple[str, str, Any, int, str]
) -> ProfileVersion:
    """A version stored straight in `status` with the given criteria
    (attribute, operator, value, points, kind)."""
    version = VersionFactory.create(
        profile=profile,
        status=status,
        approved_at=timezone.now() if status == "approved" else None,
    )
    return with_criteria(version, criteria)


def tiers(run: ScoringRun) -> dict[str, str]:
    names = dict(Account.objects.values_list("pk", "external_id"))
    return {
        names[account_id]: tier
        for account_id, tier in AccountScore.objects.filter(run=run).values_list(
            "account_id", "tier"
        )
    }


# --- Scoring ---------------------------------------------------------------------


def test_an_account_sent_as_kp_is_disqualified_by_the_embargo(
    writer: APIClient, icp: Profile, v1: ProfileVersion, ops_manager: User
) -> None:
    live = run_all(services.run_create(profile=icp, version=v1, actor=ops_manager))
    assert live is not None
    fit = {"employees": 450, "has_revops": True}
    sent = [("crm-1", "KP"), ("crm-2", "kp"), ("crm-3", " Kp "), ("crm-4", "DE")]
    response = push(writer, [row(external_id, country=c, **fit) for external_id, c in sent])
    assert response.status_code == 200, response.json()
    expected = {"crm-1": "DQ", "crm-2": "DQ", "crm-3": "DQ", "crm-4": "A"}
    assert tiers(live) == expected  # scored at ingest
    again = run_all(services.run_create(profile=icp, version=v1, actor=ops_manager))
    assert again is not None
    assert tiers(again) == expected  # and by a whole run
    assert Account.objects.get(external_id="crm-2").country == "kp"  # kept as sent
    detail = writer.get("/api/v1/accounts/crm-2/").json()
    assert detail["scores"][0]["disqualified_by"] == ["Country is one of KP"]


def test_a_not_in_disqualifier_keeps_the_countries_it_names_in_any_spelling(
    icp: Profile, ops_manager: User
) -> None:
    version = version_with(
        icp,
        "approved",
        ("employees", "gte", 0, 100, "fit"),
        ("country", "not_in", ["US", "DE"], 0, "disqualifier"),
    )
    for external_id, country in (("us", "us"), ("de", " De "), ("kp", "kp"), ("none", "")):
        AccountFactory.create(external_id=external_id, country=country)
    run = run_all(services.run_create(profile=icp, version=version, actor=ops_manager))
    assert run is not None
    assert tiers(run) == {"us": "A", "de": "A", "kp": "DQ", "none": "A"}


def test_the_impact_preview_matches_values_in_any_spelling(icp: Profile) -> None:
    draft = version_with(icp, "draft", ("industry", "in", ["SaaS"], 100, "fit"))
    for industry in ("SaaS", "saas", " SAAS ", "Fintech", ""):
        AccountFactory.create(industry=industry)
    preview = impact_preview(version=draft)
    assert preview.draft_counts == {"A": 3, "C": 2}
    assert [(c.known, c.total) for c in preview.coverage] == [(4, 5)]


def test_the_accounts_list_filters_categories_ignoring_case_and_spacing(
    client: Client, rep: User
) -> None:
    for name, industry in (("Acme", "SaaS"), ("Beta", "saas"), ("Gamma", "Fintech")):
        AccountFactory.create(name=name, industry=industry)
    client.force_login(rep)
    response = client.get(reverse("account-list"), {"industry": " SAAS "})
    assert response.status_code == 200
    assert sorted(a.name for a in response.context["page"]) == ["Acme", "Beta"]


def test_ingest_stores_values_as_sent_beside_their_canonical_forms(manager: User) -> None:
    Trait.objects.create(key="region", label="Region", type="category", category="firmographic")
    accounts_import(
        actor=manager,
        rows=[
            row(
                "crm-1",
                industry=" SaaS ",
                funding_stage="Series  B",
                tech_stack="Google  Ads; SLACK",
                **{"traits.region": "EMEA"},
            )
        ],
    )
    account = Account.objects.get()
    assert (account.industry, account.funding_stage) == ("SaaS", "Series  B")
    assert (account.industry_canonical, account.funding_stage_canonical) == ("saas", "series b")
    assert (account.country_canonical, account.crm_canonical) == ("", "")
    assert account.traits == {"region": "EMEA"}
    assert account.traits_canonical == {"region": "emea"}
    assert account.tech_stack == ["google ads", "slack"]
    assert account.list_index == "|tech_stack:google ads|tech_stack:slack|"


def test_an_update_keeps_the_canonical_forms_in_step(manager: User) -> None:
    accounts_import(actor=manager, rows=[row("crm-1", industry="SaaS", country="DE")])
    report = accounts_import(actor=manager, rows=[{"external_id": "crm-1", "industry": "Retail"}])
    assert report.outcomes == {1: "updated"}
    account = Account.objects.get()
    assert (account.industry_canonical, account.country_canonical) == ("retail", "de")


# --- Criteria ----------------------------------------------------------------------


def test_a_criterion_naming_one_value_in_two_spellings_is_refused(
    draft: ProfileVersion, marketer: User
) -> None:
    count = draft.criteria.count()
    with pytest.raises(ValidationError) as caught:
        fill(draft, marketer, [("industry", "in", ["SaaS", "Fintech", " saas"], 10)])
    assert caught.value.message_dict == {
        "value": [
            "Industry 'is one of': 'SaaS' and 'saas' are the same value (values are compared "
            "ignoring case and spacing); keep one."
        ]
    }
    assert draft.criteria.count() == count


def test_a_criterion_keeps_its_values_as_written_and_lists_in_compared_form(
    draft: ProfileVersion, marketer: User
) -> None:
    fill(
        draft,
        marketer,
        [
            ("industry", "in", ["SaaS", "SaaS", "Series  B"], 0),
            ("tech_stack", "contains_any", ["Slack", "SLACK", "Google  Ads"], 0),
        ],
    )
    values = list(draft.criteria.order_by("-position").values_list("value", flat=True)[:2])
    assert values == [["slack", "google ads"], ["SaaS", "Series  B"]]


# --- Warnings: the API ----------------------------------------------------------------


@pytest.fixture
def picklists(icp: Profile, v1: ProfileVersion) -> None:
    """Country: v1 (live) names KP. Industry and region: a draft names SaaS,
    Software and EMEA. CRM: only a superseded and a withdrawn version test
    it, so no criterion in force does."""
    Trait.objects.create(key="region", label="Region", type="category", category="firmographic")
    version_with(
        icp,
        "draft",
        ("industry", "in", ["SaaS", "Software"], 50, "fit"),
        ("region", "eq", "EMEA", 50, "fit"),
    )
    version_with(icp, "superseded", ("crm", "in", ["Zoho"], 100, "fit"))
    version_with(icp, "withdrawn", ("crm", "in", ["Dynamics"], 100, "fit"))


def test_a_value_no_criterion_names_is_stored_with_a_warning(
    writer: APIClient, picklists: None
) -> None:
    response = push(writer, [row("crm-1", industry="Saas Co", country="kp", crm="Pipedrive")])
    assert response.status_code == 200
    assert response.json() == {
        "written": True,
        "created": 1,
        "updated": 0,
        "unchanged": 0,
        "invalid": 0,
        "results": [
            {
                "index": 0,
                "external_id": "crm-1",
                "status": "created",
                "warnings": [
                    {
                        "field": "industry",
                        "message": "'Saas Co' is a value no live or draft criterion names, so it "
                        "matches none of them (the criteria on Industry name SaaS, Software); "
                        "it is stored as sent.",
                    }
                ],
            }
        ],
    }
    assert Account.objects.get().industry == "Saas Co"


def test_values_named_in_another_spelling_are_no_warning(
    writer: APIClient, picklists: None
) -> None:
    rows = [
        row("crm-1", industry="saas", country=" KP ", traits={"region": "emea"}),
        row("crm-2", industry="SOFTWARE", country="", traits={"region": None}),
        row("crm-3", industry=None, crm="Zoho"),
    ]
    results = push(writer, rows).json()["results"]
    assert [r.get("warnings") for r in results] == [None, None, None]


def test_every_unknown_value_of_a_row_is_named_traits_included(
    writer: APIClient, picklists: None
) -> None:
    rows = [
        row("crm-1", industry="SaaS"),
        row("crm-2", industry="Retail", country="DE", traits={"region": "APAC"}),
    ]
    results = push(writer, rows).json()["results"]
    assert "warnings" not in results[0]
    assert [w["field"] for w in results[1]["warnings"]] == ["country", "industry", "traits.region"]
    assert results[1]["warnings"][2]["message"].startswith(
        "'APAC' is a value no live or draft criterion names"
    )


def test_warnings_come_with_the_results_of_a_request_refused_for_another_row(
    writer: APIClient, picklists: None
) -> None:
    response = push(writer, [row("crm-1", industry="Retail"), row("crm-2", employees="many")])
    assert response.status_code == 400
    first, second = response.json()["results"]
    assert (first["status"], [w["field"] for w in first["warnings"]]) == (
        "not_written",
        ["industry"],
    )
    assert (second["status"], "warnings" in second) == ("invalid", False)
    assert not Account.objects.exists()


def test_the_values_in_use_are_read_once_per_request(manager: User, picklists: None) -> None:
    def queries(prefix: str, count: int) -> int:
        rows = [row(f"{prefix}-{n}", industry=f"Industry {n}") for n in range(count)]
        with CaptureQueriesContext(connection) as captured:
            report = accounts_import(actor=manager, rows=rows)
        assert len(report.warnings) == count
        return len(captured)

    assert queries("few", 3) == queries("many", 30)


def test_the_schema_documents_row_warnings_with_an_example(writer: APIClient) -> None:
    schema = writer.get("/api/schema/", {"format": "json"}).json()
    result = schema["components"]["schemas"]["RowResult"]["properties"]["warnings"]
    assert result["items"] == {"$ref": "#/components/schemas/RowWarning"}
    assert set(schema["components"]["schemas"]["RowWarning"]["required"]) == {"field", "message"}
    ok = schema["paths"][UPSERT]["post"]["responses"]["200"]["content"]["application/json"]
    example = ok["examples"]["StoredWithAWarning"]["value"]
    assert example["results"][0]["warnings"][0]["field"] == "industry"


# --- Warnings: CSV files ----------------------------------------------------------------

FILE = (
    b"external_id,name,industry,country\n"
    b"crm-1,Acme,SaaS,KP\n"
    b"crm-2,Beta,Saas Co,\n"
    b"crm-3,Gamma, saas  co ,kp\n"
    b"crm-4,Delta,Retail,\n"
)


def test_a_file_reports_each_unknown_value_once_with_its_rows(
    client: Client, manager: User, picklists: None
) -> None:
    job = queued(manager, FILE)
    import_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert (job.status, job.accounts_created, job.warning_count) == ("done", 4, 2)
    assert [w[:4] for w in job.warnings] == [
        ["industry", "Saas Co", 2, 3],
        ["industry", "Retail", 1, 5],
    ]
    assert job.warnings[0][4].startswith("'Saas Co' is a value no live or draft criterion names")
    client.force_login(manager)
    page = client.get(reverse("account-import-job", args=[job.pk])).content.decode()
    assert "Values no criterion names" in page
    assert 'data-testid="import-warnings"' in page
    assert "<td>Saas Co</td>" in page
    assert "import-warnings-left-out" not in page


def test_a_file_keeps_the_first_values_and_counts_them_all(manager: User, picklists: None) -> None:
    report = file_import(actor=manager, data=FILE, max_errors=1)
    assert [(w.field, w.value, w.rows) for w in report.value_warnings] == [
        ("industry", "Saas Co", 2)
    ]
    assert (report.warning_count, report.warnings_left_out) == (2, 1)


def test_the_command_prints_the_values_no_criterion_names(tmp_path: Path, picklists: None) -> None:
    path = tmp_path / "accounts.csv"
    path.write_bytes(FILE)
    out, err = io.StringIO(), io.StringIO()
    call_command("import_accounts", str(path), stdout=out, stderr=err)
    assert out.getvalue() == "Imported: 4 created, 0 updated, 0 unchanged.\n"
    lines = err.getvalue().splitlines()
    assert [line.split(": '")[0] for line in lines] == [
        "warning: industry in 2 rows from row 3",
        "warning: industry in 1 row from row 5",
    ]


def test_without_criteria_in_force_nothing_is_warned(manager: User, icp: Profile) -> None:
    version_with(icp, "superseded", ("industry", "in", ["SaaS"], 100, "fit"))
    report = file_import(actor=manager, data=FILE)
    assert (report.value_warnings, report.warning_count) == ([], 0)


def test_the_criteria_of_a_draft_in_the_making_count(
    writer: APIClient, icp: Profile, marketer: User
) -> None:
    fill(profile_services.version_start_draft(actor=marketer, profile=icp), marketer)
    rows = [row("crm-1", industry="software", crm="Pipedrive", funding_stage="SERIES C")]
    response = push(writer, rows)
    assert [w["field"] for w in response.json()["results"][0]["warnings"]] == ["crm"]
