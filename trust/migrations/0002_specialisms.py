from django.db import migrations

# Areas of expertise that match the need areas of a support request; admins may add more.
SPECIALISMS = [
    ("leadership", "Leadership"),
    ("english", "English"),
    ("reading-phonics", "Reading and phonics"),
    ("maths", "Mathematics"),
    ("science", "Science"),
    ("humanities", "Humanities"),
    ("mfl", "Modern foreign languages"),
    ("computing", "Computing"),
    ("arts", "Arts"),
    ("pe", "Physical education"),
    ("send", "SEND"),
    ("early-years", "Early years"),
    ("behaviour-attendance", "Behaviour and attendance"),
    ("safeguarding", "Safeguarding"),
    ("governance", "Governance"),
    ("curriculum", "Curriculum"),
    ("assessment", "Assessment"),
    ("disadvantaged", "Disadvantaged pupils"),
]


def add_specialisms(apps, schema_editor):
    Specialism = apps.get_model("trust", "Specialism")
    for code, name in SPECIALISMS:
        Specialism.objects.get_or_create(code=code, defaults={"name": name})


class Migration(migrations.Migration):
    dependencies = [("trust", "0001_initial")]

    operations = [migrations.RunPython(add_specialisms, migrations.RunPython.noop)]
