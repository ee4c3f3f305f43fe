"""Word lists the generated directory and Intune data draws from (kept apart from the logic)."""

GIVEN_NAMES = (
    "Aaliyah", "Adam", "Adele", "Aisha", "Alba", "Alex", "Alice", "Amara", "Amelia", "Ana",
    "Andre", "Andrea", "Anna", "Arjun", "Astrid", "Ava", "Ben", "Bianca", "Carlos", "Chen",
    "Chloe", "Christie", "Clara", "Daniel", "Daria", "David", "Diego", "Elena", "Eli", "Emma",
    "Enrico", "Erik", "Fatima", "Felix", "Fiona", "Finn", "Gabriel", "Grace", "Hana", "Hannah",
    "Hiro", "Ines", "Isaac", "Isabel", "Ivan", "Jack", "Jakob", "James", "Jana", "Johanna",
    "John", "Jonas", "Jordan", "Jose", "Joseph", "Julia", "Kai", "Karin", "Kenji", "Laura",
    "Lea", "Lee", "Leon", "Lidia", "Lina", "Lucas", "Lucia", "Luis", "Lynne", "Maja",
    "Marco", "Maria", "Mark", "Marta", "Mateo", "Megan", "Mei", "Miguel", "Mila", "Miriam",
    "Mohammed", "Nadia", "Nestor", "Nina", "Noah", "Nora", "Olga", "Oliver", "Omar", "Patti",
    "Paul", "Pedro", "Pradeep", "Priya", "Rafael", "Raj", "Rosa", "Ruth", "Sam", "Sara",
    "Sebastian", "Sofia", "Sven", "Tanvir", "Theo", "Tomas", "Uma", "Valentina", "Victor",
    "Wei", "Yara", "Yuki", "Zainab", "Zoe",
)  # fmt: skip

SURNAMES = (
    "Abara", "Adams", "Ahmed", "Alvarez", "Andersen", "Bauer", "Becker", "Bell", "Bianchi",
    "Brooks", "Brown", "Carter", "Castro", "Chen", "Clarke", "Costa", "Cruz", "Dubois", "Dunn",
    "Eriksson", "Evans", "Fernandez", "Fischer", "Fontaine", "Garcia", "Gomez", "Gonzalez",
    "Green", "Gupta", "Hall", "Hansen", "Harris", "Hoffmann", "Hughes", "Ito", "Jansen",
    "Johansson", "Johnson", "Jones", "Kaur", "Khan", "Kim", "Klein", "Kowalski", "Kumar",
    "Larsen", "Laurent", "Lee", "Lewis", "Li", "Lopez", "Martin", "Martinez", "Meyer", "Moreau",
    "Morris", "Muller", "Murphy", "Nakamura", "Nguyen", "Nielsen", "Novak", "O'Brien",
    "Okafor", "Olsen", "Park", "Patel", "Perez", "Petrov", "Ramos", "Reyes", "Richter", "Rossi",
    "Russo", "Sanchez", "Santos", "Sato", "Schmidt", "Schneider", "Silva", "Singh", "Smith",
    "Sousa", "Suzuki", "Tanaka", "Taylor", "Thomas", "Torres", "Vargas", "Wagner", "Walker",
    "Wang", "Weber", "White", "Wilson", "Wong", "Wright", "Yamamoto", "Young", "Zhang",
)  # fmt: skip

# (department, job titles seen in it)
DEPARTMENTS = (
    ("Sales", ("Account Executive", "Sales Manager", "Sales Representative", "Inside Sales")),
    ("Marketing", ("Marketing Manager", "Content Strategist", "Product Marketing Manager")),
    ("Finance", ("Accountant", "Financial Analyst", "Controller", "Payroll Specialist")),
    ("Human Resources", ("HR Generalist", "Recruiter", "HR Manager")),
    ("IT", ("IT Administrator", "Helpdesk Technician", "Systems Engineer", "IT Manager")),
    ("Engineering", ("Software Engineer", "Senior Software Engineer", "QA Engineer", "Architect")),
    ("Operations", ("Operations Manager", "Logistics Coordinator", "Facilities Manager")),
    ("Legal", ("Legal Counsel", "Paralegal", "Compliance Officer")),
    ("Customer Service", ("Support Specialist", "Customer Success Manager", "Team Lead")),
    ("Executive", ("Chief Executive Officer", "Chief Financial Officer", "Office Manager")),
)

# country letter code -> (preferred language, phone prefix, cities with street and postal code)
COUNTRIES = {
    "US": ("en-US", "+1", (("Seattle", "WA", "98101"), ("Austin", "TX", "73301"),
                           ("Chicago", "IL", "60601"), ("Boston", "MA", "02108"))),
    "GB": ("en-GB", "+44", (("London", "", "EC1A 1BB"), ("Manchester", "", "M1 1AE"),
                            ("Bristol", "", "BS1 4DJ"))),
    "DE": ("de-DE", "+49", (("Berlin", "BE", "10115"), ("Munich", "BY", "80331"),
                            ("Hamburg", "HH", "20095"))),
    "FR": ("fr-FR", "+33", (("Paris", "", "75001"), ("Lyon", "", "69001"))),
    "IE": ("en-IE", "+353", (("Dublin", "", "D02 X285"), ("Cork", "", "T12 W8DT"))),
    "ES": ("es-ES", "+34", (("Madrid", "", "28001"), ("Barcelona", "", "08001"))),
    "IT": ("it-IT", "+39", (("Milan", "", "20121"), ("Rome", "", "00184"))),
    "SE": ("sv-SE", "+46", (("Stockholm", "", "111 22"), ("Gothenburg", "", "411 03"))),
    "NL": ("nl-NL", "+31", (("Amsterdam", "", "1012"), ("Utrecht", "", "3511"))),
    "AU": ("en-AU", "+61", (("Sydney", "NSW", "2000"), ("Melbourne", "VIC", "3000"))),
    "JP": ("ja-JP", "+81", (("Tokyo", "", "100-0001"), ("Osaka", "", "530-0001"))),
    "CA": ("en-CA", "+1", (("Toronto", "ON", "M5H 2N2"), ("Vancouver", "BC", "V6B 1A1"))),
}  # fmt: skip
DEFAULT_COUNTRY = "US"

STREETS = (
    "Main Street",
    "Market Street",
    "Station Road",
    "Park Avenue",
    "Harbour Way",
    "High Street",
)

GROUP_THEMES = (
    "Sales", "Marketing", "Finance", "HR", "IT Admins", "Engineering", "Operations", "Legal",
    "Support", "Leadership", "Project Phoenix", "Project Atlas", "Remote Workers", "Contractors",
    "Office Staff", "Field Staff", "Interns", "Security Team", "Procurement", "Facilities",
)  # fmt: skip

PARTNER_GROUPS = ("AdminAgents", "HelpdeskAgents", "SalesAgents")

# Managed device catalog: operating system -> (weight, versions, (manufacturer, model) pairs)
DEVICE_CATALOG = (
    ("Windows", 55, ("10.0.19045.4529", "10.0.22631.3880", "10.0.22631.4317", "10.0.26100.2314"),
     (("Dell Inc.", "Latitude 7440"), ("Dell Inc.", "OptiPlex 7010"),
      ("LENOVO", "ThinkPad T14 Gen 4"),
      ("LENOVO", "ThinkPad X1 Carbon Gen 11"), ("HP", "EliteBook 840 G10"),
      ("Microsoft Corporation", "Surface Laptop 5"), ("Microsoft Corporation", "Surface Pro 9"))),
    ("iOS", 18, ("17.5.1", "17.6.1", "18.0.1", "18.1"),
     (("Apple", "iPhone 14"), ("Apple", "iPhone 15"), ("Apple", "iPhone 15 Pro"),
      ("Apple", "iPad Air"))),
    ("Android", 17, ("13", "14", "15"),
     (("samsung", "SM-S911B"), ("samsung", "SM-A546B"), ("Google", "Pixel 8"),
      ("motorola", "moto g84"))),
    ("macOS", 10, ("14.6.1", "14.7", "15.0.1", "15.1"),
     (("Apple", "MacBook Air (M2, 2022)"), ("Apple", "MacBook Pro (14-inch, M3, 2023)"),
      ("Apple", "iMac (24-inch, M3, 2023)"))),
)  # fmt: skip

# complianceState -> weight out of 1000 (mostly compliant, a few odd states)
COMPLIANCE_MIX = (
    ("compliant", 780),
    ("noncompliant", 110),
    ("inGracePeriod", 50),
    ("unknown", 30),
    ("error", 15),
    ("conflict", 10),
    ("configManager", 5),
)

# Per compliance policy type (its @odata.type): the managedDevice operatingSystem it applies
# to, its deviceCompliancePolicyState platformType (policyPlatformType), its class name and
# the settings it reports, the device-encryption one first (iOS: the passcode, which is what
# encrypts it). Setting names are the policy type's properties; the exact `setting` strings
# Intune reports are unconfirmed.
# Reference: https://learn.microsoft.com/graph/api/resources/intune-deviceconfig-windows10compliancepolicy
# Reference: https://learn.microsoft.com/graph/api/resources/intune-deviceconfig-ioscompliancepolicy
# Reference: https://learn.microsoft.com/graph/api/resources/intune-deviceconfig-androidworkprofilecompliancepolicy
# Reference: https://learn.microsoft.com/graph/api/resources/intune-deviceconfig-macoscompliancepolicy
COMPLIANCE_POLICY_PLATFORMS = {
    "#microsoft.graph.windows10CompliancePolicy": (
        "Windows", "windows10AndLater", "Windows10CompliancePolicy",
        ("BitLockerEnabled", "PasswordRequired", "SecureBootEnabled", "CodeIntegrityEnabled",
         "OsMinimumVersion", "ActiveFirewallRequired", "DefenderEnabled"),
    ),
    "#microsoft.graph.iosCompliancePolicy": (
        "iOS", "iOS", "IosCompliancePolicy",
        ("PasscodeRequired", "PasscodeMinimumLength", "OsMinimumVersion",
         "SecurityBlockJailbrokenDevices", "ManagedEmailProfileRequired"),
    ),
    "#microsoft.graph.androidWorkProfileCompliancePolicy": (
        "Android", "androidWorkProfile", "AndroidWorkProfileCompliancePolicy",
        ("StorageRequireEncryption", "PasswordRequired", "OsMinimumVersion",
         "SecurityBlockJailbrokenDevices", "SecurityRequireVerifyApps",
         "SecurityPreventInstallAppsFromUnknownSources"),
    ),
    "#microsoft.graph.macOSCompliancePolicy": (
        "macOS", "macOS", "MacOSCompliancePolicy",
        ("StorageRequireEncryption", "PasswordRequired", "OsMinimumVersion",
         "SystemIntegrityProtectionEnabled", "FirewallEnabled"),
    ),
}  # fmt: skip

# managedDevice complianceState -> the complianceStatus its platform's policy reports. A
# device in its grace period is noncompliant with the policy (the grace period only delays
# the consequences); a ConfigMgr-managed device's compliance is not evaluated by Intune
# (unknown: which value Intune reports there is unconfirmed).
# Reference: https://learn.microsoft.com/graph/api/resources/intune-devices-compliancestate
POLICY_STATE_OF_DEVICE_STATE = {
    "compliant": "compliant",
    "noncompliant": "nonCompliant",
    "inGracePeriod": "nonCompliant",
    "unknown": "unknown",
    "error": "error",
    "conflict": "conflict",
    "configManager": "unknown",
}
