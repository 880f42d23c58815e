"""What the people in `handoff demo` type, in each language the demo speaks: the reason on
the start form, the notes on Done, the knowledge document, the survey answers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Samples:
    """The demo's typed texts in one language (choices are option values, the same in all)."""

    reason: str
    notes: dict[str, str]  # by milestone
    document: dict[str, dict[str, Any]]  # by section: all but the risks, which come later
    risks: dict[str, Any]
    survey: dict[str, dict[str, str]]
    stakeholders: tuple[dict[str, str], ...]


def _stakeholders(cfo: str, vp: str) -> tuple[dict[str, str], ...]:
    return (
        {
            "name": "Clara Fischer",
            "title": cfo,
            "role": "economic_sponsor",
            "style": "formal",
            "channel": "email",
            "stance": "neutral",
            "trust": "3",
        },
        {
            "name": "Omar Haddad",
            "title": vp,
            "role": "champion",
            "style": "direct",
            "channel": "video",
            "stance": "advocate",
            "trust": "5",
        },
    )


EN = Samples(
    reason="Dana moves to the enterprise team",
    notes={
        "planning": "Knowledge document started; Maya briefed Noah.",
        "onboarding": "Deep-dive held: 90 minutes, recording shared.",
        "customer_comm": "Introduction email sent to the CFO and the VP Operations.",
        "joint_meeting": "Joint meeting held; the customer liked the priorities recap.",
        "handoff": "Announcement sent; documents handed over.",
        "follow_up": "Follow-up sent with the top three priorities.",
        "fully_responsible": "",
        "retrospective": "Retrospective done; customer rated the transition 5/5.",
        "step_back": "Step-back note sent.",
    },
    document={
        "profile": {
            "background": "Mid-size logistics firm, 1,200 staff, family-owned, 3 countries.",
            "business_model": "Contract logistics for retail; revenue per pallet moved.",
            "goals_challenges": "Grow e-commerce fulfilment; margins under pressure.",
            "metrics": "On-time delivery, cost per order, warehouse utilisation.",
            "org_structure": "CFO owns the budget; VP Operations runs the rollout.",
        },
        "relationships": {
            "power": "The CFO signs; the VP Operations decides what gets used.",
            "whom_for_what": "Budget: CFO. Rollout and adoption: VP Operations. IT: Lars.",
        },
        "product": {
            "solutions": "Planning suite, 3 warehouses, 140 seats.",
            "integrations": "SAP S/4 via the standard connector; SSO with Azure AD.",
            "usage": "Weekly active 82 %; forecasting module barely used.",
        },
        "history": {
            "purchase": "Inbound lead in 2024; 4-month cycle; pilot in Hamburg.",
            "why_us": "Chosen over two rivals for the SAP connector and support.",
            "contract_terms": "3 years, renews 31 March 2027; 12 % discount on seats.",
            "implementation": "Go-live two weeks late; data migration was hard.",
        },
        "objectives": {
            "goals": "Cut cost per order by 8 %\nOpen the Vienna warehouse on time",
            "success_criteria": "Cost per order below 2.10 EUR by Q3; Vienna live by June.",
            "timeline": "Vienna build-out Feb to June 2027.",
            "our_role": "Planning for the new warehouse, and the cost reporting.",
            "alignment": "yes",
        },
        "current": {
            "initiatives": "Forecasting pilot in Hamburg; Vienna planning model.",
            "priorities": "Vienna planning model\nForecasting adoption\nRenewal in March",
            "open_issues": "Two open tickets on the SAP sync; fixed next release.",
        },
        "opportunities": {
            "renewal_date": "2027-03-31",
            "renewal_health": "yellow",
            "renewal_likelihood": 75,
            "renewal_strategy": "Show the Vienna results before February; CFO lunch in January.",
        },
        "communication": {
            "cadence": "biweekly",
            "business_reviews": "quarterly",
            "channels": ["email", "video"],
            "escalation": "First the VP Operations, then the CFO; never by email alone.",
        },
    },
    risks={
        "health_score": 68,
        "health_trend": "stable",
        "concerns": "Worried that a new owner means starting over.",
        "mitigations": "Dana promised the forecasting workshop in January.",
        "red_flags": "A rival is talking to the VP Operations.",
    },
    survey={
        "csat": {"score": "5", "comment": "Noah knew our goals from day one."},
        "d30": {"health": "74", "renewal_risk": "lower", "pipeline": "grown", "reference": "yes"},
    },
    stakeholders=_stakeholders("CFO", "VP Operations"),
)

DE = Samples(
    reason="Dana wechselt ins Enterprise-Team",
    notes={
        "planning": "Wissensdokument angefangen; Maya hat Noah eingewiesen.",
        "onboarding": "Deep-Dive gehalten: 90 Minuten, Aufzeichnung geteilt.",
        "customer_comm": "Vorstellungs-E-Mail an Finanzchefin und Leiter Betrieb geschickt.",
        "joint_meeting": "Gemeinsames Meeting gehalten; dem Kunden gefiel die Prioritätenliste.",
        "handoff": "Ankündigung verschickt; Unterlagen übergeben.",
        "follow_up": "Follow-up mit den drei wichtigsten Prioritäten verschickt.",
        "fully_responsible": "",
        "retrospective": "Retrospektive erledigt; der Kunde gibt dem Wechsel 5 von 5.",
        "step_back": "Rückzugs-Nachricht verschickt.",
    },
    document={
        "profile": {
            "background": "Mittelgroßer Logistiker, 1.200 Beschäftigte, Familienbetrieb, 3 Länder.",
            "business_model": "Kontraktlogistik für den Handel; Umsatz pro bewegter Palette.",
            "goals_challenges": "E-Commerce-Fulfilment ausbauen; die Margen stehen unter Druck.",
            "metrics": "Termintreue, Kosten pro Auftrag, Lagerauslastung.",
            "org_structure": "Finanzchefin hat das Budget; Leiter Betrieb führt den Rollout.",
        },
        "relationships": {
            "power": "Die Finanzchefin unterschreibt; der Leiter Betrieb entscheidet.",
            "whom_for_what": "Budget: Finanzchefin. Rollout und Nutzung: Leiter Betrieb. IT: Lars.",
        },
        "product": {
            "solutions": "Planungs-Suite, 3 Lager, 140 Lizenzen.",
            "integrations": "SAP S/4 über den Standard-Connector; SSO mit Azure AD.",
            "usage": "Wöchentlich aktiv 82 %; das Prognosemodul wird kaum genutzt.",
        },
        "history": {
            "purchase": "Eingehende Anfrage 2024; 4 Monate Vertriebszyklus; Pilot in Hamburg.",
            "why_us": "Gegen zwei Mitbewerber gewählt, wegen SAP-Connector und Support.",
            "contract_terms": "3 Jahre, Verlängerung am 31. März 2027; 12 % Rabatt auf Lizenzen.",
            "implementation": "Go-live zwei Wochen zu spät; die Datenmigration war schwierig.",
        },
        "objectives": {
            "goals": "Kosten pro Auftrag um 8 % senken\nDas Lager in Wien pünktlich eröffnen",
            "success_criteria": "Kosten pro Auftrag bis Q3 unter 2,10 EUR; Wien bis Juni live.",
            "timeline": "Aufbau Wien von Februar bis Juni 2027.",
            "our_role": "Die Planung für das neue Lager und das Kosten-Reporting.",
            "alignment": "yes",
        },
        "current": {
            "initiatives": "Prognose-Pilot in Hamburg; Planungsmodell für Wien.",
            "priorities": "Planungsmodell Wien\nNutzung der Prognosen\nVerlängerung im März",
            "open_issues": "Zwei offene Tickets zum SAP-Abgleich; behoben im nächsten Release.",
        },
        "opportunities": {
            "renewal_date": "2027-03-31",
            "renewal_health": "yellow",
            "renewal_likelihood": 75,
            "renewal_strategy": "Die Ergebnisse aus Wien vor Februar zeigen; im Januar Mittagessen "
            "mit der Finanzchefin.",
        },
        "communication": {
            "cadence": "biweekly",
            "business_reviews": "quarterly",
            "channels": ["email", "video"],
            "escalation": "Erst der Leiter Betrieb, dann die Finanzchefin; nie nur per E-Mail.",
        },
    },
    risks={
        "health_score": 68,
        "health_trend": "stable",
        "concerns": "Sorge, dass mit dem neuen Owner alles von vorn beginnt.",
        "mitigations": "Dana hat den Prognose-Workshop im Januar zugesagt.",
        "red_flags": "Ein Mitbewerber spricht mit dem Leiter Betrieb.",
    },
    survey={
        "csat": {"score": "5", "comment": "Noah kannte unsere Ziele vom ersten Tag an."},
        "d30": {"health": "74", "renewal_risk": "lower", "pipeline": "grown", "reference": "yes"},
    },
    stakeholders=_stakeholders("Finanzchefin", "Leiter Betrieb"),
)

SAMPLES = {"en": EN, "de": DE}
