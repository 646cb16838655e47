"""Work-like text for synthetic chats, files and projects, with sensitive values planted.

Templates are written as plain strings: ``{INFOTYPE}`` (an UPPER_SNAKE infoType name from
``vigil.synth.values``) is replaced by a freshly generated value that is recorded as a plant;
``{name}``, ``{company}``, ``{amount}``, ``{date}``, ``{neg}`` (a hard negative) and friends are
filler. Every ``Fragment`` carries its text and the ``(infotype, value)`` pairs it contains,
each value appearing verbatim in the text.

Hard negatives are strings that look sensitive but are not: order numbers, UUIDs, version
strings, placeholder secrets (``sk-ant-xxxx``), Luhn-valid numbers in clearly non-card contexts
(IMEIs, batch ids).
"""

from __future__ import annotations

import random
import re
import uuid
from dataclasses import dataclass, field

from stdnum import luhn

from vigil.synth import values

TOPICS = ("support", "finance", "engineering", "hr", "healthcare", "legal", "sales")

_SLOT = re.compile(r"\{([A-Za-z0-9_]+)\}")


@dataclass
class Fragment:
    """A piece of text and the planted values it contains."""

    text: str
    plants: list[tuple[str, str]] = field(default_factory=list)


COMPANIES = ("Northwind Traders", "Globex", "Initech", "Umbrella Health", "Stark Logistics",
             "Wayne Retail", "Hooli", "Vandelay Imports", "Soylent Foods", "Cyberdyne Systems",
             "Tyrell Biotech", "Pied Piper", "Acme Outdoor", "Oceanic Air", "Dunder Paper")
PRODUCTS = ("Pro plan", "Enterprise tier", "Team seats", "annual subscription", "hardware bundle",
            "support add-on", "analytics module")
SERVICES = ("billing-api", "auth-service", "orders-worker", "payments-gateway", "search-indexer",
            "etl-nightly", "notifications", "inventory-sync")


def hard_negative(rng: random.Random) -> str:
    """A string that resembles a sensitive value but is not one (a DLP false-positive trap)."""
    kind = rng.randrange(10)
    if kind == 0:
        return f"order #{rng.choice('ABCDEFGH')}-{rng.randint(10000, 99999)}-{rng.randint(10, 99)}"
    if kind == 1:
        return f"request id {uuid.UUID(int=rng.getrandbits(128), version=4)}"
    if kind == 2:
        return f"version {rng.randint(1, 14)}.{rng.randint(0, 30)}.{rng.randint(0, 12)}"
    if kind == 3:
        return rng.choice(("sk-ant-xxxx", "sk-ant-api03-XXXXXXXXXXXXXXXX", "AKIAXXXXXXXXXXXXXXXX",
                           "ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "<your-api-key>",
                           "password: ********", "XXX-XX-XXXX", "sk_live_REDACTED"))
    if kind == 4:
        body = "35" + "".join(rng.choice("0123456789") for _ in range(12))
        return f"device IMEI {body + luhn.calc_check_digit(body)}"
    if kind == 5:
        body = "".join(rng.choice("0123456789") for _ in range(9))
        return f"shipment batch id {body + luhn.calc_check_digit(body)}"
    if kind == 6:
        return f"ticket JIRA-{rng.randint(100, 9999)}"
    if kind == 7:
        return f"commit {rng.getrandbits(160):040x}"[:47]
    if kind == 8:
        return f"SKU {rng.randint(100000, 999999)}-{rng.choice('XLMS')}"
    return f"invoice INV-2026-{rng.randint(1000, 99999):05d}"


def _person(rng: random.Random) -> str:
    return f"{rng.choice(values.FIRST_NAMES)} {rng.choice(values.LAST_NAMES)}"


_FILLERS = {
    "name": _person,
    "name2": _person,
    "first": lambda r: r.choice(values.FIRST_NAMES),
    "company": lambda r: r.choice(COMPANIES),
    "product": lambda r: r.choice(PRODUCTS),
    "service": lambda r: r.choice(SERVICES),
    "amount": lambda r: f"${r.randint(120, 98000):,}.{r.randint(0, 99):02d}",
    "eur": lambda r: f"€{r.randint(500, 250000):,}",
    "salary": lambda r: f"${r.randint(62, 240)},{r.randint(0, 9)}00",
    "date": lambda r: f"2026-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}",
    "n": lambda r: str(r.randint(2, 48)),
    "pct": lambda r: f"{r.randint(2, 35)}%",
    "quarter": lambda r: r.choice(("Q1", "Q2", "Q3", "Q4")),
    "neg": hard_negative,
    "neg2": hard_negative,
    "ticket": lambda r: f"#{r.randint(10000, 99999)}",
    "city": lambda r: r.choice(("Austin", "Berlin", "Lyon", "Madrid", "Milan", "Toronto", "Pune",
                                "São Paulo", "Amsterdam", "Manchester", "Denver")),
}


def fill(template: str, rng: random.Random) -> Fragment:
    """Replace every slot of ``template``; infoType slots become planted values."""
    plants: list[tuple[str, str]] = []

    def sub(m: re.Match[str]) -> str:
        key = m.group(1)
        if key in _FILLERS:
            return _FILLERS[key](rng)
        value = values.generate(key, rng)
        plants.append((key, value))
        return value

    return Fragment(_SLOT.sub(sub, template), plants)


# --------------------------------------------------------------------------------- templates
# A scenario is one piece of work: the chat title, the user's opening prompt, the tools the
# assistant may call (names from TOOLS[topic]) and its answer. Multi-line values only where a
# file or config snippet is natural.


@dataclass(frozen=True)
class Scenario:
    title: str
    prompt: str
    reply: str
    tools: tuple[str, ...] = ()


S = Scenario
SCENARIOS: dict[str, list[Scenario]] = {
    "support": [
        S("Refund reply for double charge",
          "Customer {name} ({EMAIL_ADDRESS}, {PHONE_NUMBER}) says the card on their account, {CREDIT_CARD_NUMBER}, was charged twice for the {product}. Can you draft an apology and explain the refund timeline?",
          "Here's a draft reply:\n\nHi {first}, I'm sorry about the duplicate charge. I've flagged it for a refund and you should see it on your statement within 5-7 business days. Your reference is {neg}.",
          ("crm_lookup",)),
        S("Escalation summary {ticket}",
          "Please summarise this ticket {ticket} for the escalation queue. Caller: {name}, callback number {PHONE_NUMBER}. They mention {neg} and want a status update.",
          "Escalation summary: customer has waited {n} days for a replacement; two prior contacts, no resolution. Next step: tier 2 to call back today and confirm the shipping status.",
          ("zendesk_search",)),
        S("Login issue response",
          "Write a polite reply to {name} at {company}. Their account email is {EMAIL_ADDRESS} and they cannot log in since {date}.",
          "Hi {first}, thanks for reaching out. I've reset the login for your account; please use the 'Forgot password' link once more and check your spam folder for the reset email. If it still fails, reply here and we'll call you.",
          ("crm_lookup",)),
        S("Card data in chat",
          "A customer pasted their full card number {CREDIT_CARD_NUMBER} and date of birth {DATE_OF_BIRTH} into chat to verify identity. How should the agent respond per policy?",
          "Per policy, the agent should not repeat the full card number back. Reply that the data has been removed from the transcript and ask the customer to verify through the secure form instead."),
        S("Spanish translation for customer",
          "Translate this into Spanish for the customer: 'We have updated your shipping address and your {neg} will arrive within {n} days.'",
          "Hemos actualizado su dirección de envío y su pedido llegará en los próximos días. ¡Gracias por su paciencia!"),
        S("Complaint triage",
          "Can you classify these complaints by urgency? 1) billing double charge 2) app crash on login 3) {neg} missing item",
          "Urgency ranking: 1) billing double charge (high, money involved), 2) app crash on login (medium, workaround exists), 3) missing item (medium, check the carrier scan first)."),
        S("Agent macro for refunds",
          "Draft a macro for agents handling refund requests over {amount}. Keep it under 120 words.",
          "Macro: Thank the customer, confirm the order and amount, explain that refunds above the threshold need a supervisor's approval within one business day, and set expectations of 5-7 days to post."),
    ],
    "finance": [
        S("Vendor payment setup",
          "Set up the vendor payment for {company}: IBAN {IBAN_CODE}, BIC {SWIFT_CODE}, amount {eur}. Can you write the remittance note?",
          "Remittance note: Payment of {eur} to {company} for invoice {neg}. Beneficiary IBAN {IBAN_CODE}, value date {date}.",
          ("erp_vendor_lookup",)),
        S("Wire reconciliation",
          "Reconcile these two wires: routing {US_BANK_ROUTING_MICR}, account ending 4471, {amount} on {date} and {amount} on {date}. Which one looks like a duplicate?",
          "The second wire looks like a duplicate: same beneficiary and routing, sent {n} minutes apart with the same reference. I'd ask the bank to recall it before the cut-off.",
          ("code_execution",)),
        S("{quarter} variance note",
          "Build a short variance explanation for {quarter}: revenue was {amount} against a forecast of {amount}, mostly due to the {product} delay.",
          "Variance summary for {quarter}: revenue came in {pct} below forecast, driven by the delayed {product} launch; operating costs were flat and cash collection improved.",
          ("code_execution",)),
        S("1099 ITIN question",
          "The contractor {name} sent their W-9 with TIN {US_INDIVIDUAL_TAXPAYER_IDENTIFICATION_NUMBER}. Is an ITIN acceptable for 1099 reporting?",
          "Yes, an ITIN is acceptable on a W-9 for 1099 reporting. Keep the form on file and do not email the TIN in plain text."),
        S("Declined corporate card",
          "Our corporate card {CREDIT_CARD_NUMBER} was declined at {company}. Draft a note to the bank asking why.",
          "Draft: Hello, our corporate card was declined on {date} at {company} for {amount}. Please confirm whether a fraud hold or a limit caused it and lift it if appropriate. Contact: {EMAIL_ADDRESS}."),
        S("Audit findings headline",
          "Summarise the audit findings for {quarter}; nothing sensitive, just the headline: {pct} of expense reports lacked receipts. Reference {neg}.",
          "Headline: {pct} of expense reports lacked receipts; remediation is a receipt-required rule in the expense tool and monthly spot checks."),
    ],
    "engineering": [
        S("Debug {service} startup",
          "Why does {service} fail to start? Here is the env file:\n{DATABASE_CONNECTION_STRING}\n{PASSWORD}\nThe error is 'connection refused'.",
          "The service can't reach the database because the host in the connection string resolves to a private address the pod can't route to. Also rotate the password you pasted; it is now in chat history.",
          ("code_execution", "bash")),
        S("Deploy script review",
          "Review this deploy script, it pushes to S3:\n{AWS_CREDENTIALS}\naws s3 sync ./build s3://release-artifacts --delete",
          "The script works, but never commit credentials. Use an instance profile instead of the keys in the env block. Safer version:\n\naws s3 sync ./build s3://release-artifacts --delete --profile release",
          ("bash",)),
        S("CI token failure",
          "The CI job started failing after I rotated the token. The workflow uses {GITHUB_TOKEN} for checkout; is the scope wrong?",
          "The new token lacks the repo scope, so checkout of private submodules fails. Recreate it with repo and workflow scopes, store it as an Actions secret, and revoke the one you pasted here.",
          ("github_api",)),
        S("Stack trace help",
          "Can you explain this stack trace from {service}? It mentions {neg} and a timeout in the connection pool.",
          "This is pool exhaustion: the pool size is {n} but {service} spawns more workers than that, so requests wait and time out. Raise the limit or reduce concurrency.",
          ("bash",)),
        S("Slack alerts broken",
          "Our Slack alerts stopped. The webhook is {SLACK_WEBHOOK} and the bot token {SLACK_TOKEN}. What changed in the API?",
          "Slack disabled the legacy webhook when the app was reinstalled. Create a new incoming webhook for the channel and rotate the bot token; both values above should be treated as leaked.",
          ("http_request",)),
        S("Retry helper",
          "Write a Python function that retries HTTP calls with exponential backoff and jitter; target {service}, {neg}.",
          "Here's a retry helper:\n\nimport random, time\n\ndef retry(fn, attempts=5):\n    for i in range(attempts):\n        try:\n            return fn()\n        except Exception:\n            time.sleep(min(60, 2 ** i) * random.random())\n    return fn()"),
        S("JWT expiry",
          "Decode this JWT from the staging logs and tell me when it expires: {JSON_WEB_TOKEN}",
          "The token was issued for subject {n} and expires one hour after issue. It is signed, so don't share it further; treat it as a credential.",
          ("code_execution",)),
        S("API 401 troubleshooting",
          "I get 401 from the Anthropic API with key {ANTHROPIC_API_KEY}. The docs example uses sk-ant-xxxx, is mine malformed?",
          "The key format is fine; a 401 means it was revoked or belongs to another workspace. Create a new key in the Console and delete this one, since it is now in a chat transcript.",
          ("http_request",)),
        S("K8s secret for payments",
          "Help me write a k8s secret for the payments gateway: Stripe key {STRIPE_API_KEY}, SendGrid {SENDGRID_API_KEY}.",
          "Use a sealed secret rather than a plain manifest:\n\nkubectl create secret generic payments --from-literal=stripe=... --dry-run=client -o yaml | kubeseal > payments-sealed.yaml",
          ("bash",)),
        S("Suspicious traffic",
          "Firewall logs show repeated hits from source IP {IP_ADDRESS} against {service}. Is this a scan or a misconfigured client?",
          "The traffic from IP {IP_ADDRESS} matches a vulnerability scanner signature (sequential paths, HEAD requests). Block it at the WAF.",
          ("http_request",)),
        S("Package publish failure",
          "Why can't the build publish? .npmrc has //registry.npmjs.org/:_authToken={NPM_TOKEN} and PyPI uses {PYPI_TOKEN}.",
          "Both tokens are scoped to a different package, so the registries answer 403. Create project-scoped tokens, store them in the CI secret store, and revoke these two.",
          ("bash",)),
        S("Cloud credentials cleanup",
          "Which of our cloud credentials are still hard-coded in the repo? Check the usual places.",
          "I found live credentials in three places: the deploy key, the service-account file and the env dump. Move all of them to the secret manager and rotate them today.",
          ("bash", "code_execution")),
    ],
    "hr": [
        S("Offer letter draft",
          "Draft an offer letter for {name}, start date {date}, base salary {salary}. SSN for payroll setup: {US_SOCIAL_SECURITY_NUMBER}.",
          "Here is the offer letter draft for {name}. I've left the SSN out of the letter; payroll should collect it through the HRIS.",
          ("workday_lookup",)),
        S("New hire I-9 check",
          "New hire paperwork for {name}: date of birth {DATE_OF_BIRTH}, passport {US_PASSPORT}, personal email {EMAIL_ADDRESS}. Which I-9 documents are still missing?",
          "Missing I-9 items: only the signed Section 1. The passport covers List A, so no List B or C document is needed."),
        S("International payroll setup",
          "Our UK hire {name} gave NI number {UK_NATIONAL_INSURANCE_NUMBER}; the Canadian contractor's SIN is {CANADA_SOCIAL_INSURANCE_NUMBER}. How do we set both up in payroll?",
          "For payroll you need the NI number for RTI submissions in the UK and the SIN for the Canadian T4. Store both in the HRIS, not email.",
          ("workday_lookup",)),
        S("PIP outline",
          "Write a neutral performance-improvement plan outline for a support engineer. No names please.",
          "PIP outline: 1) expectations and measurable goals 2) support and resources 3) weekly check-ins 4) timeline of 60 days 5) outcomes."),
        S("Relocation checklist",
          "Relocation checklist for {name} moving to {city}: French NIR {FRANCE_NIR}, German tax ID {GERMANY_TAXPAYER_IDENTIFICATION_NUMBER}. What does the local payroll provider need?",
          "The provider needs the tax ID, a registration certificate, bank details for salary and the signed contract. Send identifiers through the provider portal, not email."),
        S("EU onboarding docs",
          "Spanish employee {name} sent DNI {SPAIN_DNI_NUMBER}; the contractor from Italy sent codice fiscale {ITALY_FISCAL_CODE}. Do we need anything else for onboarding?",
          "For Spain you also need the social security number; for Italy the contractor's partita IVA if they invoice. Everything else is in place."),
        S("Welcome email",
          "The Dutch hire's BSN is {NETHERLANDS_BSN_NUMBER} and the Brazilian contractor's CPF {BRAZIL_CPF_NUMBER}. Please prepare the welcome email without including those numbers.",
          "Welcome email draft:\n\nWelcome aboard, {first}! Your first day is {date}. IT will send your laptop to the address on file."),
        S("India payroll IDs",
          "For the India entity, {name} provided PAN {INDIA_PAN_INDIVIDUAL} and Aadhaar {INDIA_AADHAAR_INDIVIDUAL}. Is Aadhaar collection allowed for payroll?",
          "PAN is required for TDS. Aadhaar may be collected only with consent and should be masked to the last four digits wherever it is stored."),
        S("Engagement survey summary",
          "Summarise the engagement survey: {pct} favourable on manager support, {pct} on career growth. Reference {neg}.",
          "Summary: manager support is a strength; career growth lags. Recommend quarterly growth conversations and a published promotion rubric."),
    ],
    "healthcare": [
        S("Discharge summary",
          "Summarise this discharge note for the care team: patient {name}, {MEDICAL_RECORD_NUMBER}, DOB {DATE_OF_BIRTH}, diagnosis {ICD10_CODE}. Follow-up in {n} days.",
          "Discharge summary: patient stable, diagnosis {ICD10_CODE}, medication reconciled, follow-up in {n} days with primary care.",
          ("ehr_query",)),
        S("Prior auth letter",
          "Prior authorization request: prescriber NPI {US_HEALTHCARE_NPI}, DEA {US_DEA_NUMBER}, diagnosis code {ICD10_CODE}. Draft the cover letter.",
          "Cover letter drafted. I've referenced the prescriber by name only; attach the NPI and DEA on the payer's form rather than the letter body."),
        S("ICD-10 explainer",
          "Explain ICD-10 code {ICD10_CODE} in plain language for a patient leaflet.",
          "Plain-language explanation: this code describes a common condition; the leaflet should focus on daily management and when to call the clinic."),
        S("Benefits vendor data",
          "Our benefits vendor needs member {name}, SSN {US_SOCIAL_SECURITY_NUMBER}, date of birth {DATE_OF_BIRTH}. Is sending this by email compliant?",
          "No: send it through the vendor's SFTP or portal under the BAA. Email is not an approved channel for SSNs.",
          ("ehr_query",)),
        S("Flu shot reminder",
          "Write a reminder template for flu shot appointments at the {city} clinic. Reference {neg}.",
          "Reminder: Your flu shot appointment is on {date} at the {city} clinic. Reply C to confirm or R to reschedule."),
    ],
    "legal": [
        S("NDA retention clause",
          "Redline this NDA clause about data retention for {company}; keep it mutual.",
          "Mutual retention clause: Each party shall delete Confidential Information within 30 days of termination, except as required by law.",
          ("document_search",)),
        S("Subpoena scope",
          "The subpoena lists {name}, SSN {US_SOCIAL_SECURITY_NUMBER}, and account {IBAN_CODE}. Which parts must we produce and which can we redact?",
          "Produce the account records but redact the SSN to the last four digits unless the subpoena specifically demands it."),
        S("DPA summary",
          "Summarise the DPA obligations for {company} in five bullets. Reference {neg}.",
          "DPA obligations: 1) process only on instructions 2) confidentiality 3) security measures 4) sub-processor approval 5) deletion at end of service.",
          ("document_search",)),
        S("Litigation hold notice",
          "Prepare a litigation-hold notice for custodians in {city}; contact for questions is {EMAIL_ADDRESS}.",
          "Notice: You are required to preserve all documents related to the matter, including chat and email. Do not delete anything until counsel lifts this hold. Questions: {EMAIL_ADDRESS}."),
    ],
    "sales": [
        S("Renewal email",
          "Draft a renewal email to {name} at {company} ({EMAIL_ADDRESS}) offering {pct} off the {product}.",
          "Renewal email draft:\n\nHi {first}, thanks for a great year together. We'd like to offer {pct} off the {product} if you renew before {date}.",
          ("salesforce_query",)),
        S("Call notes summary",
          "Summarise the call notes: champion is {name}, mobile {PHONE_NUMBER}; budget {amount} approved for {quarter}.",
          "Call summary: budget approved, decision in {quarter}, next step is a security review. Champion prefers mobile contact."),
        S("Territory plan {city}",
          "Create a territory plan for {city} with {n} target accounts; include {neg} as a reference.",
          "Territory plan: tier the accounts by revenue potential, assign weekly outreach cadences, and review pipeline coverage every two weeks.",
          ("salesforce_query",)),
        S("Webinar subject lines",
          "Write three subject lines for a webinar invite about the {product}.",
          "Subject lines: 1) See what's new in the {product} 2) 30 minutes to faster onboarding 3) Live demo: {product} deep dive"),
    ],
}
del S

# Tool calls: (tool name, input template as dict of str templates, result template).
TOOLS: dict[str, list[tuple[str, dict[str, str], str]]] = {
    "support": [
        ("crm_lookup", {"email": "{EMAIL_ADDRESS}"},
         "Customer: {name}\nPhone: {PHONE_NUMBER}\nCard on file: {CREDIT_CARD_NUMBER}\nLast order: {neg}"),
        ("zendesk_search", {"query": "refund {ticket}"},
         "3 tickets found. Top match {ticket}: 'double charge', requester {EMAIL_ADDRESS}, status open."),
    ],
    "finance": [
        ("erp_vendor_lookup", {"vendor": "{company}"},
         "Vendor {company}\nIBAN: {IBAN_CODE}\nSWIFT: {SWIFT_CODE}\nRouting (US): {US_BANK_ROUTING_MICR}\nTerms: net 30"),
        ("code_execution", {"code": "import pandas as pd\ndf = pd.read_csv('ledger.csv')\nprint(df.groupby('account').amount.sum())"},
         "account\n4000    {amount}\n5100    {amount}\n6200    {amount}\nName: amount, dtype: float64"),
    ],
    "engineering": [
        ("code_execution", {"code": "import os\nprint(os.environ.get('DATABASE_URL'))"},
         "{DATABASE_CONNECTION_STRING}"),
        ("bash", {"command": "cat ~/.aws/credentials | head -3"},
         "[default]\n{AWS_CREDENTIALS}"),
        ("bash", {"command": "kubectl get secret payments -o yaml"},
         "apiVersion: v1\nkind: Secret\nmetadata:\n  name: payments\ndata:\n  stripe: {STRIPE_API_KEY}\n  twilio: {TWILIO_API_KEY}"),
        ("github_api", {"token": "{GITHUB_TOKEN}", "repo": "acme/{service}"},
         "200 OK: default branch main, {n} open pull requests, last release {neg}"),
        ("http_request", {"url": "https://api.example.internal/v1/health", "headers": "x-api-key: {OPENAI_API_KEY}"},
         "HTTP/1.1 200 OK\n{\"status\": \"ok\", \"version\": \"2.4.1\"}"),
        ("bash", {"command": "cat deploy/keys/id_rsa"},
         "{ENCRYPTION_KEY}"),
        ("bash", {"command": "cat sa.json"},
         "{GCP_CREDENTIALS}"),
        ("code_execution", {"code": "from huggingface_hub import login\nlogin('{HUGGINGFACE_TOKEN}')"},
         "Token is valid (permission: write). Login successful"),
        ("bash", {"command": "grep -r token ~/.databrickscfg ~/.config/gitlab"},
         "host = https://adb-{n}.azuredatabricks.net\ntoken = {DATABRICKS_TOKEN}\ngitlab: {GITLAB_TOKEN}"),
        ("bash", {"command": "env | grep -i key"},
         "GCP_API_KEY={GCP_API_KEY}\nAZURE_STORAGE_CONNECTION_STRING={AZURE_STORAGE_KEY}"),
        ("http_request", {"url": "https://internal.example.com/metrics", "auth": "{BASIC_AUTH_HEADER}"},
         "HTTP/1.1 401 Unauthorized\nWWW-Authenticate: Basic realm=\"metrics\"\nremote_addr={IP_ADDRESS}"),
    ],
    "hr": [
        ("workday_lookup", {"employee": "{name}"},
         "Employee: {name}\nDOB: {DATE_OF_BIRTH}\nSSN: {US_SOCIAL_SECURITY_NUMBER}\nHome email: {EMAIL_ADDRESS}\nSalary: {salary}"),
        ("code_execution", {"code": "print(len(open('headcount.csv').readlines()))"}, "{n}"),
    ],
    "healthcare": [
        ("ehr_query", {"mrn": "{MEDICAL_RECORD_NUMBER}"},
         "Patient {name}, DOB {DATE_OF_BIRTH}\nActive diagnoses (ICD-10): {ICD10_CODE}, {ICD10_CODE}\nPCP NPI: {US_HEALTHCARE_NPI}"),
    ],
    "legal": [
        ("document_search", {"query": "{company} retention clause"},
         "Found 2 documents: MSA-{company}.pdf (section 9.2), DPA-{company}.pdf (annex 2). Reference {neg}."),
    ],
    "sales": [
        ("salesforce_query", {"soql": "SELECT Name, Email FROM Contact WHERE Account.Name = '{company}'"},
         "Name: {name}, Email: {EMAIL_ADDRESS}, Phone: {PHONE_NUMBER}\nName: {name2}, Email: {EMAIL_ADDRESS}"),
    ],
}

# Later turns: (user follow-up, assistant answer).
FOLLOW_UPS = [
    ("Thanks. Can you make it shorter?", "Shorter version: the key point stands, and the next step is on our side by {date}."),
    ("Good, now add a line about next steps.", "Added: next steps are a review with {name} and a decision by {date}."),
    ("Can you double-check the numbers against {neg}?", "I re-checked: the totals match; one line was rounded differently, now fixed."),
    ("Please rewrite that in a friendlier tone.", "Here's a warmer version, same content, fewer formal phrases."),
    ("One more: the contact is {name}, email {EMAIL_ADDRESS}. Include them.", "Done, I've added {first} as the contact in the signature block."),
    ("Also include the backup phone {PHONE_NUMBER} in case email bounces.", "Included the backup number at the end of the message."),
    ("Perfect. Turn it into a bullet list.", "- Summary of the issue\n- What we did\n- What happens next and when"),
    ("What would you change for the {city} team?", "For the {city} team I'd adjust the timing to their working hours and name a local owner."),
]

INSTRUCTIONS: dict[str, list[str]] = {
    "support": ["You help the support team draft customer replies. Escalations go to {EMAIL_ADDRESS}. Never repeat full card numbers.",
                "Tone: warm, concise. Use the refund policy document. Reference {neg} for the current macro set."],
    "finance": ["You assist accounts payable. The default settlement account is {IBAN_CODE} ({SWIFT_CODE}). Always ask for approval above {amount}.",
                "Prepare variance commentary in tables. Fiscal year starts in February."],
    "engineering": ["You are the on-call assistant for {service}. Staging database: {DATABASE_CONNECTION_STRING}. Do not run destructive commands.",
                    "Follow the runbook. For deploys use the release bot token {GITHUB_TOKEN} only in CI.",
                    "Answer with code first, explanation after. Target Python 3.11, {neg}."],
    "hr": ["You help HR draft documents. Payroll questions go to {EMAIL_ADDRESS}. Never include SSNs in letters.",
           "Use the company handbook. Benefits enrollment closes {date}."],
    "healthcare": ["You summarize clinical notes for the care team. Clinic NPI {US_HEALTHCARE_NPI}. Use plain language.",
                   "Follow HIPAA minimum-necessary rules; refer to patients by initials."],
    "legal": ["You review contracts for {company}. Flag unlimited liability and auto-renewal clauses.",
              "Outside counsel contact: {name}, {PHONE_NUMBER}."],
    "sales": ["You help account executives write outreach. Pricing sheet is attached; max discount {pct} without approval.",
              "Use the CRM export; sales ops contact {EMAIL_ADDRESS}."],
}

DOC_LINES: dict[str, list[str]] = {
    "support": ["Customer {name}, email {EMAIL_ADDRESS}, phone {PHONE_NUMBER}, issue: double charge",
                "Refund approved for card {CREDIT_CARD_NUMBER}, amount {amount}",
                "Macro R-{n}: apologise, confirm refund window, link to {neg}",
                "Escalation contact {name} ({EMAIL_ADDRESS})"],
    "finance": ["Vendor {company}: IBAN {IBAN_CODE}, BIC {SWIFT_CODE}",
                "US remittance: routing {US_BANK_ROUTING_MICR}, account 000{n}7731",
                "Corporate card {CREDIT_CARD_NUMBER} assigned to {name}",
                "{quarter} accrual {amount}, reference {neg}",
                "Contractor {name}, ITIN {US_INDIVIDUAL_TAXPAYER_IDENTIFICATION_NUMBER}"],
    "engineering": ["{DATABASE_CONNECTION_STRING}",
                    "{PASSWORD}",
                    "AWS deploy credentials:\n{AWS_CREDENTIALS}",
                    "slack_webhook: {SLACK_WEBHOOK}",
                    "github token {GITHUB_TOKEN}",
                    "ANTHROPIC_API_KEY={ANTHROPIC_API_KEY}",
                    "Service {service} pinned to {neg}",
                    "VPN gateway IP {IP_ADDRESS}, backup peer {IP_ADDRESS}",
                    "STRIPE_SECRET_KEY={STRIPE_API_KEY}",
                    "{ENCRYPTION_KEY}",
                    "SENDGRID_API_KEY={SENDGRID_API_KEY}",
                    "auth header used by the cron job: {BASIC_AUTH_HEADER}",
                    "jwt for the smoke test: {JSON_WEB_TOKEN}",
                    "//registry.npmjs.org/:_authToken={NPM_TOKEN}",
                    "[pypi]\nusername = __token__\npassword = {PYPI_TOKEN}"],
    "hr": ["{name}, SSN {US_SOCIAL_SECURITY_NUMBER}, DOB {DATE_OF_BIRTH}, salary {salary}",
           "{name}, UK NI {UK_NATIONAL_INSURANCE_NUMBER}, start {date}",
           "{name}, passport {US_PASSPORT}, email {EMAIL_ADDRESS}",
           "{name}, DNI {SPAIN_DNI_NUMBER}, NIE {SPAIN_NIE_NUMBER}",
           "{name}, codice fiscale {ITALY_FISCAL_CODE}",
           "{name}, BSN {NETHERLANDS_BSN_NUMBER}, CPF {BRAZIL_CPF_NUMBER}",
           "{name}, Aadhaar {INDIA_AADHAAR_INDIVIDUAL}, PAN {INDIA_PAN_INDIVIDUAL}",
           "{name}, SIN {CANADA_SOCIAL_INSURANCE_NUMBER}, NIR {FRANCE_NIR}",
           "{name}, Steuer-ID {GERMANY_TAXPAYER_IDENTIFICATION_NUMBER}",
           "Team offsite in {city} on {date}, reference {neg}"],
    "healthcare": ["{name}, {MEDICAL_RECORD_NUMBER}, DOB {DATE_OF_BIRTH}, dx {ICD10_CODE}",
                   "Prescriber NPI {US_HEALTHCARE_NPI}, DEA {US_DEA_NUMBER}",
                   "Member {name}, SSN {US_SOCIAL_SECURITY_NUMBER}",
                   "Clinic schedule update {date}, {neg}"],
    "legal": ["Custodian {name}, {EMAIL_ADDRESS}, phone {PHONE_NUMBER}",
              "Matter account {IBAN_CODE}",
              "Clause 9.2 retention: 30 days, reference {neg}",
              "Party SSN {US_SOCIAL_SECURITY_NUMBER} (redact before production)"],
    "sales": ["{company}: contact {name}, {EMAIL_ADDRESS}, {PHONE_NUMBER}",
              "{company}: renewal {date}, ARR {amount}",
              "Discount approved {pct}, deal {neg}",
              "Billing card {CREDIT_CARD_NUMBER} for {company}"],
}

ARTIFACT_TEMPLATES: dict[str, list[str]] = {
    "support": ["# Refund reply\n\nHi {first},\n\nWe've issued a refund of {amount}. Reference: {neg}.\n\nBest,\nSupport"],
    "finance": ["# Payment run {date}\n\n| Vendor | Amount | IBAN |\n|---|---|---|\n| {company} | {eur} | {IBAN_CODE} |\n| {company} | {eur} | {IBAN_CODE} |"],
    "engineering": ["# {service} runbook\n\n1. Check health endpoint\n2. Verify DB: `{DATABASE_CONNECTION_STRING}`\n3. Restart workers",
                    "import os\n\nAPI_KEY = '{ANTHROPIC_API_KEY}'\n\ndef client():\n    return os.environ.get('API_KEY', API_KEY)"],
    "hr": ["# Onboarding record\n\nName: {name}\nStart: {date}\nSSN: {US_SOCIAL_SECURITY_NUMBER}\nDOB: {DATE_OF_BIRTH}"],
    "healthcare": ["# Discharge summary\n\nPatient: {name} ({MEDICAL_RECORD_NUMBER})\nDiagnosis: {ICD10_CODE}\nFollow-up: {n} days"],
    "legal": ["# Litigation hold\n\nCustodians: {name}, {name2}\nQuestions: {EMAIL_ADDRESS}"],
    "sales": ["# Renewal offer\n\n{company}: {pct} off the {product} until {date}. Contact {EMAIL_ADDRESS}."],
}

PROJECT_NAMES: dict[str, list[str]] = {
    "support": ["Support Macros", "Tier 2 Escalations", "Customer Replies"],
    "finance": ["AP Automation", "Month-end Close", "Revenue Ops {quarter}"],
    "engineering": ["Platform On-call", "{service} Migration", "Release Engineering"],
    "hr": ["People Ops", "Global Payroll", "Recruiting Pipeline"],
    "healthcare": ["Clinic Notes", "Benefits Admin"],
    "legal": ["Contract Review", "eDiscovery Prep"],
    "sales": ["Enterprise Renewals", "EMEA Pipeline"],
}


def _pick(rng: random.Random, table: dict[str, list[str]], topic: str) -> str:
    return rng.choice(table[topic])


def pick_scenario(rng: random.Random, topic: str) -> int:
    """Index of a scenario of ``topic`` (stored with a chat so title and turns agree)."""
    return rng.randrange(len(SCENARIOS[topic]))


def chat_title(rng: random.Random, topic: str, scenario: int) -> str:
    return fill(SCENARIOS[topic][scenario].title, rng).text


def opening(rng: random.Random, topic: str, scenario: int, attachment: str | None = None) -> tuple[Fragment, Fragment]:
    """The first exchange of a chat: (user prompt, assistant answer)."""
    sc = SCENARIOS[topic][scenario]
    prompt = fill(sc.prompt, rng)
    if attachment:
        prompt.text = f"I've attached {attachment}. " + prompt.text
    return prompt, fill(sc.reply, rng)


def follow_up(rng: random.Random, attachment: str | None = None) -> tuple[Fragment, Fragment]:
    """A later exchange: (user follow-up, assistant answer)."""
    ask, answer = rng.choice(FOLLOW_UPS)
    prompt = fill(ask, rng)
    if attachment:
        prompt.text = f"Here is {attachment} as well. " + prompt.text
    return prompt, fill(answer, rng)


def tool_call(rng: random.Random, topic: str, scenario: int | None = None) -> tuple[str, list[tuple[str, Fragment]], Fragment]:
    """A tool invocation fitting the scenario: name, input fields as (key, fragment), result text."""
    tools = TOOLS.get(topic) or TOOLS["engineering"]
    if scenario is not None and SCENARIOS[topic][scenario].tools:
        wanted = SCENARIOS[topic][scenario].tools
        tools = [t for t in tools if t[0] in wanted] or tools
    name, inputs, result = rng.choice(tools)
    fields = [(k, fill(v, rng)) for k, v in inputs.items()]
    return name, fields, fill(result, rng)


def project_instructions(rng: random.Random, topic: str) -> Fragment:
    return fill(_pick(rng, INSTRUCTIONS, topic), rng)


def project_name(rng: random.Random, topic: str) -> str:
    return fill(_pick(rng, PROJECT_NAMES, topic), rng).text


def document_blocks(rng: random.Random, topic: str, n: int) -> list[Fragment]:
    """``n`` record-like blocks for a file; none contains a blank line."""
    return [fill(_pick(rng, DOC_LINES, topic), rng) for _ in range(n)]


def artifact_text(rng: random.Random, topic: str, revision: int) -> Fragment:
    frag = fill(_pick(rng, ARTIFACT_TEMPLATES, topic), rng)
    if revision:
        frag.text += f"\n\n_Revision {revision + 1}: updated per review._"
    return frag
