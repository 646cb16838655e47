"""Credentials written the ways people write them, and the code, documentation and records that
only look like them (issue 9: credential recall and false findings).

Every text is scanned by both backends, which must agree finding for finding."""

from __future__ import annotations

import json

import pytest

from vigil.detect import Engine

from .conftest import KEY

PEM = ("-----BEGIN RSA PRIVATE KEY-----\n"
       "MIIEpAIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gunVTLw7onLRnrq0/IzW7yWR7QkrmBL7"
       "jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxKLxoS2tFczGkPLPgizskuemMghRniWaoLcyehkd3qqGElvW/VDL5AaWTg0n\n"
       "LVkjRo9z+40RQzuVaE8AkAFmxZzow3x+VJYKdjykkJ0iT9wCS0DRTXu269V264Vf/3jvredZiKRkgwlL9xNAwxXFg0x/XF"
       "w005UWVRIkdgcKWTjpBP2dPwVZ4WWC+9aGVd+Gyn1o0CLelf4rEjGoXbAAEgAqeGUxrcIlbjXfbcmwIDAQAB\n"
       "-----END RSA PRIVATE KEY-----\n")


@pytest.fixture(scope="module")
def audit(cache_dir) -> Engine:
    """Everything down to UNLIKELY counts, as the benchmark scores it."""
    return Engine.load(KEY, min_likelihood="UNLIKELY", cache_dir=cache_dir)


@pytest.fixture(scope="module")
def audit_py() -> Engine:
    return Engine.load(KEY, min_likelihood="UNLIKELY", backend="python")


def scan(audit, audit_py, text):
    found = audit.scan(text)
    assert [(f.detector, f.start, f.end, f.likelihood) for f in found] == \
        [(f.detector, f.start, f.end, f.likelihood) for f in audit_py.scan(text)]
    return [(f.infotype, text[f.start:f.end]) for f in found]


def values_of(infotype, audit, audit_py, text):
    """The matched values of one infoType (both backends agreeing)."""
    return [v for t, v in scan(audit, audit_py, text) if t == infotype]


# -- escaped values: a key inside a JSON string, offsets into the raw text -------------------------

@pytest.mark.parametrize("text", [
    json.dumps({"tls": {"key": PEM}}),
    json.dumps({"key": PEM}).replace("/", "\\/"),            # PHP and Java escape slashes
    json.dumps({"body": json.dumps({"key": PEM})}),           # JSON inside a JSON string
    json.dumps({"key": PEM.replace("\n", "\r\n")}),
    "tls:\n  key: |\n" + "".join("    " + line + "\n" for line in PEM.splitlines()),
])
def test_escaped_and_indented_private_keys_are_found_in_place(audit, audit_py, text):
    [(infotype, value)] = scan(audit, audit_py, text)
    assert infotype == "ENCRYPTION_KEY"
    assert value.startswith("-----BEGIN RSA PRIVATE KEY-----") and value.endswith("-----END RSA PRIVATE KEY-----")


def test_service_account_key_stored_as_a_json_string(audit, audit_py):
    key_file = {"type": "service_account", "project_id": "acme-prod-1",
                "private_key_id": "30877432d1026706d7e805da846a32c3bb81e3c2", "private_key": PEM,
                "client_email": "etl@acme-prod-1.iam.gserviceaccount.com"}
    text = json.dumps({"name": "gcp", "secret": json.dumps(key_file)})
    assert {t for t, _ in scan(audit, audit_py, text)} == {"GCP_CREDENTIALS"}


def test_escaped_slashes_in_base64_keys(audit, audit_py):
    text = '{"aws_secret_access_key":"Zz8xBfZuXTptFyfePpX6N1NF2XV54wca\\/7E56w8Z"}'
    assert scan(audit, audit_py, text) == [("AWS_CREDENTIALS", "Zz8xBfZuXTptFyfePpX6N1NF2XV54wca\\/7E56w8Z")]
    f_escaped = audit.scan(text)[0]
    f_plain = audit.scan(text.replace("\\/", "/"))[0]
    assert f_escaped.fingerprint == f_plain.fingerprint


# -- cloud keys outside connection strings ---------------------------------------------------------

AZURE_KEY = "7+wctdFhOSbiG2tzuqeGGIqWTBCivGGjooIKJbmSDN8XaFyqaWI7yCoAD0VtYuZmARbDz8Q4pUODL5b3nmfxAg=="


@pytest.mark.parametrize("text", [
    f'const azureStorageKey = "{AZURE_KEY}";',
    f"STORAGE_ACCOUNT_KEY={AZURE_KEY}",
    f"az storage blob list --account-name acmeprod --account-key '{AZURE_KEY}' -c exports",
    f"Hi, my storage account key is {AZURE_KEY}. Can you rotate it?",
    f'props.setProperty("storageKey", "{AZURE_KEY}");',
])
def test_azure_storage_keys_in_variables_commands_and_sentences(audit, audit_py, text):
    assert ("AZURE_STORAGE_KEY", AZURE_KEY) in scan(audit, audit_py, text)


def test_sha512_digests_and_the_emulator_key_are_not_storage_keys(audit, audit_py):
    assert not scan(audit, audit_py, f"storage key integrity: sha512-{AZURE_KEY}")
    emulator = ("AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/"
                "KBHBeksoGMGw==")
    assert not scan(audit, audit_py, emulator)


@pytest.mark.parametrize("text", [
    "aws_key = WC5g8ksAv13s7UujbeKvUoWUiT4kwjrT6WrVRqN8",
    "Following up, new AWS credentials: nqeiA6SquyzBXgzHcKbeiuDgT+FmbRTl0/m1rI7C.",
    '"aws_access_key_id": "GJ3JC1fGaqVYB1lrr9KyT6SUd7UP55j0Zs9mjpT0",',
])
def test_aws_secret_keys_without_secret_in_the_name(audit, audit_py, text):
    assert "AWS_CREDENTIALS" in {t for t, _ in scan(audit, audit_py, text)}


def test_forty_base64_characters_need_an_aws_word(audit, audit_py):
    assert not scan(audit, audit_py, "try WC5g8ksAv13s7UujbeKvUoWUiT4kwjrT6WrVRqN8 tomorrow")


@pytest.mark.parametrize("text,infotype", [
    ("Quick one, my auth header is YWRtaW46UDkjVkZFU3RyQWE2WjVZTXZpc01ORw==.", "BASIC_AUTH_HEADER"),
    ("Authorization: Bearer SK3dc39c9d779b1a2d0a04158f5642d8cf", "TWILIO_API_KEY"),
    ("DATABASE_URL=\"jdbc:postgresql://db.internal:5432/orders?user=etl&password=Zx7R4mT1yW9e!&ssl=true\"",
     "DATABASE_CONNECTION_STRING"),
    ("client secret abc8Q~Zx7R4mT1yW9eL3cB6aH0sD5fG2kN8pQ4r.", "AZURE_AUTH_TOKEN"),
    ("git clone https://x-access-token:ghs_mkddesbXLQ4eqEhHl1Db8iHfaX0cGh0Xq7Z5@github.com/org/app.git",
     "GITHUB_TOKEN"),
])
def test_credentials_in_their_usual_wrappers(audit, audit_py, text, infotype):
    assert [t for t, _ in scan(audit, audit_py, text)] == [infotype]


# -- passwords -------------------------------------------------------------------------------------

@pytest.mark.parametrize("text,value", [
    ("smtp_pass: maple.rocket.spring72", "maple.rocket.spring72"),
    ('var secret_password = "monkey_harbor_matrix23";', "monkey_harbor_matrix23"),
    ("const db_password: string = 'Dr@g0n1568!';", "Dr@g0n1568!"),
    ('{"Password": "V(tZ)0Hr2$NRw4+WM5T@z"}', "V(tZ)0Hr2$NRw4+WM5T@z"),
    ("mysql -u root -p'Wkv6iFwP2IaNiA1FV' -h db.acme-corp.com", "Wkv6iFwP2IaNiA1FV"),
    ("echo 'Z3phyr985*x' | docker login -u ci --password-stdin", "Z3phyr985*x"),
    ("curl -u admin:'Rocket337#x' https://acme-corp.com/api/health", "Rocket337#x"),
    ('passwd = os.getenv("PASSWD", "weohkPoznO3@3!r9V_f")', "weohkPoznO3@3!r9V_f"),
    ("const pwd = process.env.PWD || 'Falcon194%x';", "Falcon194%x"),
    ('props.setProperty("dbPass", "##9PKiSqHG");', "##9PKiSqHG"),
    ("the mot de passe we have on file is a7zHhk@Pn90DGUEZJ%pK, is that still right?", "a7zHhk@Pn90DGUEZJ%pK"),
    ("Password q+5UdPubWgaN, if that helps.", "q+5UdPubWgaN"),
    ("6EPY4JFCV3e%aygT+ is the mot de passe they sent over.", "6EPY4JFCV3e%aygT+"),
    ("please use willow_maple_spring9 (temporary password) for this one.", "willow_maple_spring9"),
    ("login: admin / VygPxoyXEE18WXfn6. Thanks", "VygPxoyXEE18WXfn6"),
    ("Password - Copper235!", "Copper235!"),
])
def test_passwords_as_written(audit, audit_py, text, value):
    assert ("PASSWORD", value) in scan(audit, audit_py, text)


@pytest.mark.parametrize("text", [
    # code that assigns, computes or asks for a password
    "pwd = os.getcwd()",
    "password = getpass.getpass('Password: ')",
    "self.password = config['password']",
    "passwd = fallback_getpass(prompt, stream)",
    "user_pass = (self.username + ':' + self.password).encode('ascii')",
    "user, passwd = self.passwd.find_user_password(None, req.full_url)",
    "pw = pw[:-1]",
    "password = bytes(memoryview(password))",
    "pass_leaf = Leaf(text_type, 'pass')",
    "pem_password_cb = CFUNCTYPE(c_int, STRING, c_int)",
    "ctx.load_cert_chain(CERTFILE, password=GetPassCallable().getpass)",
    "password = self.cleaned_data.new_password1",
    # Python's pass statement followed by more code
    "class Complete(Structure):\n    pass\nPComplete = POINTER(Complete)\n",
    "class E(Exception):\n    pass\n\n\n@unittest.skipUnless(c_functools, 'requires C')\n",
    # placeholders, templates, variable references, values that name themselves
    'password = "changeme"',
    "password: ${DB_PASSWORD}",
    "password=os.environ['DB_PASSWORD']",
    "password:yh^%#rest-of-my-password",
    # a format field (CPython's netrc.py writes its lines with an f-string, escapes written out)
    'rep += f"\\tpassword {attrs[2]}\\n"',
    "print(f'password {user.secret_field}')",
    "[('http', 'user/name', 'password', 'localhost:22')]",
    "check_call(['openssl', 'pkey', '-out', 'key.passwd.pem', '-aes256'])",
    # documentation
    "Example usage:\n\nimport urllib.request\n\nauthinfo = urllib.request.HTTPBasicAuthHandler()\n"
    "authinfo.add_password(realm='PDQ Application',\n                      uri='https://mahler:8092/',\n"
    "                      user='klem',\n                      passwd='geheim$parole')\n",
    "so we can pass the result to ttk::style",
    "the password manager is 1Password",
])
def test_code_placeholders_and_documentation_are_not_passwords(audit, audit_py, text):
    assert not values_of("PASSWORD", audit, audit_py, text)


# -- cookies ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "#       Cookie: CUSTOMER=WILE_E_COYOTE; PART_NUMBER=ROCKET_LAUNCHER_0001",
    'headers.append("Set-Cookie: JSESSIONID=ABCDERANDOM123; Path=")',
    ">>> C.output()\n'Set-Cookie: number=7\\r\\nSet-Cookie: string=seven'",
    "cookie = http.cookies.SimpleCookie()",
])
def test_cookie_documentation_is_not_a_session(audit, audit_py, text):
    assert not scan(audit, audit_py, text)


@pytest.mark.parametrize("text,value", [
    ("the session cookie we have on file is _gitlab_session=9f2c41d07be5a3e86d1c40b2f9a7e53c, is that right?",
     "_gitlab_session=9f2c41d07be5a3e86d1c40b2f9a7e53c"),
    ("WARN dropping stale session, cookie=csrftoken=Zx7R4mT1yW9eL3cB6aH0sD5fG2kN8pQ4; lang=fr-FR\n",
     "csrftoken=Zx7R4mT1yW9eL3cB6aH0sD5fG2kN8pQ4; lang=fr-FR"),
    ("(cookie: _gitlab_session=9f2c41d07be5a3e86d1c40b2f9a7e53c) can you check?",
     "_gitlab_session=9f2c41d07be5a3e86d1c40b2f9a7e53c)"),
])
def test_session_cookies_in_sentences_and_logs(audit, audit_py, text, value):
    assert scan(audit, audit_py, text) == [("HTTP_COOKIE", value)]


# -- e-mail, dates of birth, record numbers, OIDs ---------------------------------------------------

@pytest.mark.parametrize("text", [
    "origin = ssh://git@github.com/acme/ledger.git",
    "git clone https://x-access-token:Zx7R4mT1yW9eL3cB6aH0@github.com/org/app.git",
    "remote: svn+ssh://builder@svn.acme-corp.com/repos/app",
])
def test_logins_inside_urls_are_not_email_addresses(audit, audit_py, text):
    assert not values_of("EMAIL_ADDRESS", audit, audit_py, text)


@pytest.mark.parametrize("text", [
    "Birthday:\tSeptember 9, 2008\nStart date: 2024-06-08\n",
    '{"start_date": "April 29, 2026", "DOB": "25 October 1980"}',
    "Date of Birth:\t27/12/1950\nscheduled_for: 01/12/2024\n",
])
def test_a_date_under_its_own_key_is_not_the_birth_date_next_to_it(audit, audit_py, text):
    dates = values_of("DATE_OF_BIRTH", audit, audit_py, text)
    assert len(dates) == 1 and dates[0] in ("September 9, 2008", "25 October 1980", "27/12/1950")


@pytest.mark.parametrize("text", [
    "patientMrn:\t13578601\nStart date: 2025-02-09\nrun_id: 8520556549\n",
    "my medical record is 00420365.\nstill on it?\nBuild: 20220701.2.\n",
    "Medical Record #:\t992355702\npolicy_oid: 1.2.840.113549.1.1.11\n",
])
def test_build_numbers_and_oids_next_to_a_record_number_are_not_record_numbers(audit, audit_py, text):
    found = values_of("MEDICAL_RECORD_NUMBER", audit, audit_py, text)
    assert found in (["13578601"], ["00420365"], ["992355702"])


@pytest.mark.parametrize("text", ["(ref 2.5.4.3)", "extension 2.5.29.17 looks fine", "oid = 2.5.4.10"])
def test_x500_object_identifiers_are_not_ip_addresses(audit, audit_py, text):
    assert not scan(audit, audit_py, text)


# -- shapes CredSweeper's samples showed (bench/thirdparty_secrets_eval.py); values written here ------

@pytest.mark.parametrize("text, value", [
    ("ALTER USER 'app'@'%' IDENTIFIED BY 'Hv7#qLm2Xw9';", "Hv7#qLm2Xw9"),
    ("CREATE USER 'etl'@'10.2.%' IDENTIFIED WITH mysql_native_password BY 'Tq4!rBn8Zs1';", "Tq4!rBn8Zs1"),
    ("CREATE USER reporter IDENTIFIED BY Pk3wYn7Rt2Qz;", "Pk3wYn7Rt2Qz"),
    ("CREATE USER analyst WITH ENCRYPTED PASSWORD 'Mv8$kd2Pq7';", "Mv8$kd2Pq7"),
    ("ALTER ROLE billing PASSWORD 'Zr5&nX1cW8' VALID UNTIL 'infinity';", "Zr5&nX1cW8"),
    ("CREATE ROLE reader LOGIN PASSWORD 'Yb6@tQ3mF9';", "Yb6@tQ3mF9"),
    ("ALTER LOGIN svc_reports WITH PASSWORD = 'Lw2%hG7vN4';", "Lw2%hG7vN4"),
    ('cursor.execute("CREATE USER audit IDENTIFIED BY Rx9Kp2Wm5Tq")', "Rx9Kp2Wm5Tq"),
])
def test_passwords_in_sql_statements(audit, audit_py, text, value):
    assert ("PASSWORD", value) in scan(audit, audit_py, text)


@pytest.mark.parametrize("text", [
    "CREATE USER app IDENTIFIED BY PASSWORD '*6BB4837EB74329105EE4568DDA7DC67ED2CA2AD9';",  # a hash
    "CREATE USER app WITH PASSWORD :'pw';",
    "ALTER USER app WITH PASSWORD NULL;",
    "The suspect was identified by witnesses at the scene.",
    "Each user with password access gets a token.",
    "CREATE USER app WITH PASSWORD '$APP_PASSWORD';",
])
def test_sql_that_holds_no_password(audit, audit_py, text):
    assert values_of("PASSWORD", audit, audit_py, text) == []


KEY_LINES = ["MIIBVQIBADANBgkqhkiG9w0BAQEFAASCAT8wggE7AgEAAkEAyx3Tq0hM8bVwRk2c",
             "pF7nLs4YdJ9uWqX1ZgE6tHrK0vAaCmN5iBoP2eSy8fQzDjUlG3wIDAQABAkEAhV",
             "Qy7s1Rk9LdPf4Xb2NcWm8Jt6Ga0ZeHvSpU3oYiKqBnEwT5lMrCxD9uFjAgIhAOq2"]


@pytest.mark.parametrize("text", [
    # Java or JavaScript: one string per line, joined with +
    'String key = "-----BEGIN PRIVATE KEY-----\\n"\n' + "".join(f'    + "{line}\\n"\n' for line in KEY_LINES)
    + '    + "-----END PRIVATE KEY-----\\n";\n',
    # a log that prefixes every line with a timestamp
    "2026-11-30 08:14:02 -----BEGIN RSA PRIVATE KEY-----\n"
    + "".join(f"2026-11-30 08:14:02 {line}\n" for line in KEY_LINES) + "2026-11-30 08:14:02 -----END RSA PRIVATE KEY-----\n",
    # a key cut off (a truncated paste)
    "here is the key:\n-----BEGIN OPENSSH PRIVATE KEY-----\n" + KEY_LINES[0] + "\n" + KEY_LINES[1][:30],
])
def test_private_keys_whose_armour_is_interrupted(audit, audit_py, text):
    found = scan(audit, audit_py, text)
    assert [t for t, _ in found] == ["ENCRYPTION_KEY"], found
    assert found[0][1].startswith("-----BEGIN ")


@pytest.mark.parametrize("text", [
    "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA...\n-----END RSA PRIVATE KEY-----",
    "-----BEGIN PRIVATE KEY-----\n<paste your key here>\n-----END PRIVATE KEY-----",
    "-----BEGIN PRIVATE KEY-----\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n",
    "if line.startswith('-----BEGIN PRIVATE KEY-----'):\n    raise ValueError('PKCS#8 keys are not supported here')",
])
def test_private_key_armour_without_a_key_body(audit, audit_py, text):
    assert values_of("ENCRYPTION_KEY", audit, audit_py, text) == []


@pytest.mark.parametrize("text, value", [
    ('if (password !== "Kq7#mWz2Lp") { deny(); }', "Kq7#mWz2Lp"),
    ('if user_pwd == "Tn4!vRx8Qs":', "Tn4!vRx8Qs"),
    ('if (adminPass.equals("Wm3$kPq9Zr")) {', "Wm3$kPq9Zr"),
    ('#define DB_PASSWORD "Hx6@nLq2Vt"', "Hx6@nLq2Vt"),
    ('%global admin_password "Rb8&yTm4Kc"', "Rb8&yTm4Kc"),
    ('curl_easy_setopt(curl, CURLOPT_PASSWORD, "Zt5#wQn7Pm");', "Zt5#wQn7Pm"),
    ('curl_easy_setopt(h, CURLOPT_PROXYUSERPWD, "proxy:Jv2!kXr9Ws");', "Jv2!kXr9Ws"),
])
def test_password_literals_compared_defined_or_passed_to_curl(audit, audit_py, text, value):
    assert ("PASSWORD", value) in scan(audit, audit_py, text)


@pytest.mark.parametrize("text", [
    'if (password !== confirmPassword) {',
    'if password == "":',
    'assert form.password == "password123"',  # names itself
    '#define PASSWORD_MAX_LEN 64',
    'curl_easy_setopt(curl, CURLOPT_PASSWORD, password);',
    'if (input.equals("password")) {',
])
def test_password_code_that_holds_no_password(audit, audit_py, text):
    assert values_of("PASSWORD", audit, audit_py, text) == []


@pytest.mark.parametrize("text, value", [
    ('token = "V7qPz3XkR9wLm2TnB8cYf4HsJ6dGa1Ue"', "V7qPz3XkR9wLm2TnB8cYf4HsJ6dGa1Ue"),
    ('  deploy_token: "Qx8Rm2Vt5Lw9Zp3Kc7Nb4Jh6Yf1Gd0Sa"', "Qx8Rm2Vt5Lw9Zp3Kc7Nb4Jh6Yf1Gd0Sa"),
    ('SERVICE_CREDENTIALS="Lm4Tq8Wz2Xr6Pk9Vn3Bc7Yh5Jd1"', "Lm4Tq8Wz2Xr6Pk9Vn3Bc7Yh5Jd1"),
])
def test_tokens_and_credentials_assigned_in_code(audit, audit_py, text, value):
    assert [v for t, v in scan(audit, audit_py, text)] == [value]


@pytest.mark.parametrize("text", [
    'token = "bert-base-multilingual-uncased"',
    'token_type = "Bearer"',
    'tokenizer = "Xlm4RobertaLarge2Tokenizer99"',
    'token_file = "/var/run/secrets/kubernetes.io/serviceaccount/token"',
    'csrf_token = "{{ csrf_token }}"',
    'token = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"',  # a SHA-256
])
def test_token_named_values_that_are_not_secrets(audit, audit_py, text):
    assert scan(audit, audit_py, text) == []


@pytest.mark.parametrize("text, value", [
    ("ssh ana.silva@10.20.0.7 mailto:{1} (PW:Kx8#nRq2Lm)", "Kx8#nRq2Lm"),
    ("ana.silva@10.20.0.7 (pwd:Kx8#nRq2Lm)", "Kx8#nRq2Lm"),
])
def test_a_word_before_a_parenthesised_password_key_is_not_the_password(audit, audit_py, text, value):
    assert values_of("PASSWORD", audit, audit_py, text) == [value]


@pytest.mark.parametrize("text", [
    'password: <PostgreSQL PW>',
    '"pass_mask32": "0x31c45018",',
    'password = "0xAb19D82E7f546cC3"',
])
def test_angle_bracket_placeholders_and_hex_constants_are_not_passwords(audit, audit_py, text):
    assert values_of("PASSWORD", audit, audit_py, text) == []
