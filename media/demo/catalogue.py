"""The demo's curated stock: about 60 items of every kind a town library lends.

E-books and audiobooks (Krimis with a series, children's books, non-fiction, guides, novels,
classics, and books in the languages a town's newcomers read), issues of local e-magazines,
recordings of VHS courses and the documents of the VHS and the library (Programmhefte,
annual reports, rules). Made-up people, publishers and ISBNs (978-3-9... bodies with their
check digits computed); the same every time (their own random generator), so a guide can
name them.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from media.demo.files import isbn13
from media.models import ContributorRole, IdentifierScheme, MediaKind

AUTHOR, NARRATOR, EDITOR, TRANSLATOR, ILLUSTRATOR = (
    ContributorRole.AUTHOR,
    ContributorRole.NARRATOR,
    ContributorRole.EDITOR,
    ContributorRole.TRANSLATOR,
    ContributorRole.ILLUSTRATOR,
)


@dataclass
class Entry:
    """One demo item, as ``media.catalogue.services.save_item`` takes it, and its looks."""

    kind: MediaKind
    title: str
    genre: str  # picks the cover colours, the EPUB's chapters and the audio's tune
    people: list[tuple[str, ContributorRole]]
    publisher: str
    year: int
    subjects: list[str]
    classification: str
    description: str
    identifier: tuple[IdentifierScheme, str]
    subtitle: str = ""
    language: str = "de"
    series: str = ""
    number: int | None = None
    min_age: int | None = None
    pages: int | None = None
    duration: int | None = None
    extra: dict[str, str] = field(default_factory=dict)

    def data(self) -> dict[str, object]:
        """The item as ``save_item``'s ``data``."""
        scheme, value = self.identifier
        return {
            "kind": self.kind,
            "title": self.title,
            "subtitle": self.subtitle,
            "publisher": self.publisher,
            "year": self.year,
            "language": self.language,
            "description": self.description,
            "classification": self.classification,
            "series_title": self.series,
            "series_number": self.number,
            "min_age": self.min_age,
            "pages": self.pages,
            "duration_seconds": self.duration,
            "contributors": [{"name": n, "role": r} for n, r in self.people],
            "identifiers": [{"scheme": scheme, "value": value}],
            "subjects": self.subjects,
        }


# --- books (e-book, and many as audiobook too) -----------------------------------------------

# One book a line: title | subtitle | author | genre | series | number | min_age | language
BOOKS_TABLE = """
Tod am Seilersee | Kriminalroman | Sabine Kettler | krimi | Kommissarin Brandt ermittelt | 1 | 16 | de
Schatten über dem Danzturm | Kriminalroman | Sabine Kettler | krimi | Kommissarin Brandt ermittelt | 2 | 16 | de
Die Tote im Felsenmeer | Kriminalroman | Sabine Kettler | krimi | Kommissarin Brandt ermittelt | 3 | 16 | de
Stille Nacht in Letmathe | Ein Weihnachtskrimi | Sabine Kettler | krimi | Kommissarin Brandt ermittelt | 4 | 16 | de
Mord in der Dechenhöhle | Kriminalroman | Sabine Kettler | krimi | Kommissarin Brandt ermittelt | 5 | 16 | de
Das Schweigen der Lenne | Kriminalroman | Sabine Kettler | krimi | Kommissarin Brandt ermittelt | 6 | 16 | de
Kaltes Grab am Hemberg | Kriminalroman | Sabine Kettler | krimi | Kommissarin Brandt ermittelt | 7 | 16 | de
Der Drahtzieher | Ein Sauerland-Krimi | Holger Brinkmann | krimi |  |  | 16 | de
Nebel über Hemer | Ein Sauerland-Krimi | Holger Brinkmann | krimi |  |  | 16 | de
Die letzte Fahrt der Hönnetalbahn | Kriminalroman | Holger Brinkmann | krimi |  |  | 16 | de
Tödlicher Wochenmarkt | Ein Fall für Oma Grete | Renate Wiesemann | krimi | Oma Grete ermittelt | 1 | 12 | de
Gift im Gemeindehaus | Ein Fall für Oma Grete | Renate Wiesemann | krimi | Oma Grete ermittelt | 2 | 12 | de
Das Geheimnis der alten Mühle |  | Lena Vogt | kinder | Die Seilersee-Detektive | 1 | 6 | de
Spuk im Stadtpark |  | Lena Vogt | kinder | Die Seilersee-Detektive | 2 | 6 | de
Die verschwundene Katze |  | Lena Vogt | kinder | Die Seilersee-Detektive | 3 | 6 | de
Der Schatz im Felsenmeer |  | Lena Vogt | kinder | Die Seilersee-Detektive | 4 | 6 | de
Alarm in der Schule |  | Lena Vogt | kinder | Die Seilersee-Detektive | 5 | 6 | de
Die kleine Hexe vom Hemberg |  | Friederike Hahn | kinder |  |  | 0 | de
Hilde und der Besen | Die kleine Hexe vom Hemberg | Friederike Hahn | kinder |  |  | 0 | de
Oskar will nicht schlafen | Ein Bilderbuch | Friederike Hahn | kinder |  |  | 0 | de
Mein erstes Buch vom Wald |  | Jonas Reuter | kinder | Entdecke die Natur | 1 | 0 | de
Mein erstes Buch vom Wasser |  | Jonas Reuter | kinder | Entdecke die Natur | 2 | 0 | de
Gärtnern auf kleinem Raum | Gemüse und Kräuter vom Balkon | Ulrike Sandmann | sachbuch |  |  |  | de
Heimische Vögel erkennen | Über 100 Arten im Porträt | Dr. Martin Kühne | sachbuch |  |  |  | de
Das Sauerland entdecken | Wanderungen zwischen Lenne und Ruhr | Petra Hölscher | sachbuch |  |  |  | de
Die Geschichte der Drahtzieher | Iserlohns Industrie von 1700 bis heute | Dr. Klaus Overbeck | sachbuch |  |  |  | de
Klimafreundlich leben | Was jeder Haushalt tun kann | Miriam Albers | sachbuch |  |  |  | de
Brot backen mit Sauerteig | Rezepte für jeden Tag | Ulrike Sandmann | sachbuch |  |  |  | de
Einfach vegetarisch | 80 Rezepte aus der Region | Ulrike Sandmann | sachbuch |  |  |  | de
Sterne beobachten | Der Himmel über dem Sauerland | Dr. Martin Kühne | sachbuch |  |  | 12 | de
Steuererklärung leicht gemacht | Ausgabe 2026 | Thomas Lindner | ratgeber |  |  |  | de
Sicher im Internet | Passwörter, Betrug, Datenschutz | Sandra Pohl | ratgeber |  |  |  | de
Bewerben mit 50 plus |  | Thomas Lindner | ratgeber |  |  |  | de
Mein Smartphone verstehen | Der Ratgeber für Einsteiger | Sandra Pohl | ratgeber |  |  |  | de
Pflege zu Hause organisieren | Hilfen, Anträge, Entlastung | Gabriele Funke | ratgeber |  |  |  | de
Gut vorsorgen | Vollmacht, Verfügung, Testament | Gabriele Funke | ratgeber |  |  |  | de
Gelassen durch die Pubertät | Ein Ratgeber für Eltern | Miriam Albers | ratgeber |  |  |  | de
Sommer an der Lenne | Roman | Katharina Berghoff | roman |  |  |  | de
Die Tuchmacherin | Historischer Roman | Katharina Berghoff | roman | Die Tuchmacher-Saga | 1 |  | de
Das Erbe der Tuchmacherin | Historischer Roman | Katharina Berghoff | roman | Die Tuchmacher-Saga | 2 |  | de
Das Haus am Berg | Roman | Jan Steinhoff | roman |  |  |  | de
Zwischen den Jahren | Roman | Jan Steinhoff | roman |  |  |  | de
Wo der Fluss die Richtung wechselt | Roman | Leonie Hartmann | roman |  |  |  | de
Herr von Ribbeck und andere Gedichte |  | Theodor Fontane | klassiker |  |  |  | de
Die Bremer Stadtmusikanten und andere Märchen |  | Jacob und Wilhelm Grimm | klassiker |  |  | 0 | de
Effi Briest | Roman | Theodor Fontane | klassiker |  |  | 12 | de
Der Schimmelreiter | Novelle | Theodor Storm | klassiker |  |  | 12 | de
Die Verwandlung | Erzählung | Franz Kafka | klassiker |  |  | 12 | de
The Lighthouse Keeper's Daughter | A Novel | Margaret Holloway | roman |  |  |  | en
Walking the Sauerland | Twenty Routes for Visitors | Petra Hölscher | sachbuch |  |  |  | en
Küçük Cadı ve Ay |  | Elif Demir | kinder |  |  | 0 | tr
Almanca Öğreniyorum | Başlangıç için | Mehmet Aydın | ratgeber |  |  |  | tr
حكايات من المكتبة |  | ليلى حداد | kinder |  |  | 6 | ar
Нове життя в Німеччині | Практичний порадник | Олена Коваленко | ratgeber |  |  |  | uk
Казки для найменших |  | Ірина Шевчук | kinder |  |  | 0 | uk
Wintermord im Sauerland | Kriminalroman | Holger Brinkmann | krimi |  |  | 16 | de
Die Nachtigall von Letmathe | Roman | Leonie Hartmann | roman |  |  |  | de
Pilze sammeln | Sicher bestimmen, richtig zubereiten | Dr. Martin Kühne | sachbuch |  |  |  | de
Tim und die Baustelle | Ein Bilderbuch | Jonas Reuter | kinder |  |  | 0 | de
Ordnung im Kleiderschrank | Weniger besitzen, besser leben | Gabriele Funke | ratgeber |  |  |  | de
"""


def _books() -> list[tuple[str, str, str, str, str, int | None, int | None, str]]:
    """The rows of :data:`BOOKS_TABLE`."""
    rows = []
    for line in BOOKS_TABLE.strip().splitlines():
        title, sub, author, genre, series, number, age, language = (
            c.strip() for c in line.split("|")
        )
        rows.append(
            (
                title,
                sub,
                author,
                genre,
                series,
                int(number) if number else None,
                int(age) if age else None,
                language,
            )
        )
    return rows


BOOKS = _books()

GENRES = {
    # genre: (subjects, classification, publisher, pages)
    "krimi": (["Krimi", "Regionalkrimi", "Sauerland"], "SL Krimi", "Verlag am Danzturm", 320),
    "kinder": (["Kinderbuch", "Vorlesen", "Freundschaft"], "J 1 Erz", "Hönnetal Kinderbuch", 64),
    "sachbuch": (["Sachbuch", "Natur", "Sauerland"], "Nat 200", "Märkischer Sachbuchverlag", 224),
    "ratgeber": (["Ratgeber", "Alltag"], "Wg 10", "Lenne Ratgeber", 160),
    "roman": (["Roman", "Familie"], "SL", "Seilersee Verlag", 380),
    "klassiker": (["Klassiker", "Literatur"], "SL Klassik", "Edition Felsenmeer", 180),
}
TOPICS = {
    "Gärtnern auf kleinem Raum": ["Garten", "Balkon", "Gemüse"],
    "Heimische Vögel erkennen": ["Vögel", "Natur"],
    "Das Sauerland entdecken": ["Wandern", "Sauerland", "Reisen"],
    "Walking the Sauerland": ["Wandern", "Sauerland", "Reisen"],
    "Die Geschichte der Drahtzieher": ["Iserlohn", "Stadtgeschichte", "Industrie"],
    "Brot backen mit Sauerteig": ["Backen", "Kochen"],
    "Einfach vegetarisch": ["Kochen", "Vegetarisch"],
    "Sicher im Internet": ["Internet", "Datenschutz"],
    "Mein Smartphone verstehen": ["Smartphone", "Internet"],
    "Steuererklärung leicht gemacht": ["Steuern", "Finanzen"],
    "Die Tuchmacherin": ["Historischer Roman", "Iserlohn"],
    "Das Erbe der Tuchmacherin": ["Historischer Roman", "Iserlohn"],
    "Almanca Öğreniyorum": ["Deutsch lernen", "Sprachen"],
    "Нове життя в Німеччині": ["Deutschland", "Ankommen"],
}
NARRATORS = ["Uwe Falkenberg", "Katrin Wolff", "Bernd Lüdtke", "Annette Stein", "Selin Arslan"]

BLURBS = {
    "krimi": "Ein Toter am Ufer, ein Schuh auf dem Steg und eine Stadt, die schweigt: "
    "{title} ist spannend bis zur letzten Seite.\n\nMit viel Lokalkolorit zwischen "
    "Seilersee, Altstadt und Sauerländer Wäldern.",
    "kinder": "{title}: eine Geschichte zum Vorlesen und Selberlesen, voller Witz und "
    "Wärme.\n\nMit Bildern, die zum Entdecken einladen.",
    "sachbuch": "{title} erklärt verständlich und anschaulich, was man wissen muss.\n\n"
    "Mit vielen Beispielen aus dem Sauerland und praktischen Tipps.",
    "ratgeber": "Schritt für Schritt und ohne Fachchinesisch: {title} hilft im Alltag.\n\n"
    "Mit Checklisten, Beispielen und Adressen, die weiterhelfen.",
    "roman": "{title} erzählt von Heimkehr, Familie und den Geheimnissen, die jede "
    "Familie hat.\n\nEin warmherziger Roman über das Ankommen.",
    "klassiker": "{title} – ein Klassiker der deutschen Literatur, in einer sorgfältig "
    "durchgesehenen Ausgabe.\n\nMit einem Nachwort zur Entstehung.",
}
FOREIGN_BLURBS = {
    "en": "{title}: a story of coming home, told with warmth and humour.",
    "tr": "{title}: çocuklar ve aileler için sıcak bir hikâye.",
    "ar": "{title}: قصص جميلة للأطفال والعائلات.",
    "uk": "{title}: корисна книжка для всієї родини.",
}


def _blurb(genre: str, language: str, title: str) -> str:
    """The item's description."""
    return (FOREIGN_BLURBS.get(language) or BLURBS[genre]).format(title=title)


def _isbn(n: int, audio: bool) -> str:
    """A made-up ISBN-13 in the German group (978-3-9...), valid by its check digit."""
    return isbn13(f"97839{8 if audio else 7}{n:06d}")


def books(rng: random.Random) -> tuple[list[Entry], list[Entry]]:
    """The e-books, and the audiobooks (many the same books, read aloud, plus radio plays)."""
    ebooks, audiobooks = [], []
    for n, (title, subtitle, author, genre, series, number, age, language) in enumerate(BOOKS):
        subjects, classification, publisher, pages = GENRES[genre]
        subjects = list(dict.fromkeys([*subjects[:2], *TOPICS.get(title, subjects[2:])]))
        if language != "de":
            subjects = [
                *subjects[:1],
                {"en": "Englisch", "tr": "Türkisch", "ar": "Arabisch", "uk": "Ukrainisch"}[
                    language
                ],
            ]
        people = [(author, AUTHOR)]
        if genre == "kinder" and language == "de":
            people.append((rng.choice(["Paul Brenner", "Ida Winter", "Tom Kessel"]), ILLUSTRATOR))
        year = rng.randint(2015, 2026)
        if genre == "klassiker":
            year = rng.randint(2012, 2024)  # this edition
            people.append(("Dr. Sabine Roth", EDITOR))
        common = dict(
            title=title,
            subtitle=subtitle,
            genre=genre,
            publisher=publisher,
            year=year,
            subjects=subjects,
            classification=classification,
            description=_blurb(genre, language, title),
            language=language,
            series=series,
            number=number,
            min_age=age,
        )
        ebooks.append(
            Entry(
                kind=MediaKind.EBOOK,
                people=people,
                identifier=(IdentifierScheme.ISBN, _isbn(n, audio=False)),
                pages=max(24, pages + rng.randint(-40, 60)),
                **common,  # type: ignore[arg-type]
            )
        )
        if language == "de" and n % 4 != 3:
            narrator = NARRATORS[n % len(NARRATORS)]
            audio = dict(common, publisher="Lenne Hörbuch", subjects=[*subjects, "Hörbuch"])
            audiobooks.append(
                Entry(
                    kind=MediaKind.AUDIOBOOK,
                    people=[(author, AUTHOR), (narrator, NARRATOR)],
                    identifier=(IdentifierScheme.ISBN, _isbn(n, audio=True)),
                    duration=(pages // 40 + rng.randint(1, 4)) * 3600 + rng.randint(0, 59) * 60,
                    **audio,  # type: ignore[arg-type]
                )
            )
    audiobooks += _radio_plays(rng, 60 - len(audiobooks))
    return ebooks, audiobooks


def _radio_plays(rng: random.Random, count: int) -> list[Entry]:
    """Episodes of a local history radio play series and of a children's radio play."""
    episodes = []
    places = [
        "Danzturm",
        "Bauernkirche",
        "Obere Mühle",
        "Alter Markt",
        "Seilersee",
        "Fritz-Kühn-Platz",
        "Dechenhöhle",
        "Stadtbahnhof",
        "Poth",
        "Hohler Weg",
        "Kluse",
        "Schleddenhof",
    ]
    for n in range(count):
        kids = n % 3 == 2
        series = "Hilde hext wieder" if kids else "Iserlohner Geschichte(n)"
        title = f"Folge {n + 1}: " + (
            f"Hilde und {['der Drache', 'die Eule', 'der Schneemann', 'das Gewitter'][n % 4]}"
            if kids
            else f"Am {places[n % len(places)]}"
        )
        episodes.append(
            Entry(
                kind=MediaKind.AUDIOBOOK,
                title=title,
                subtitle="Hörspiel",
                genre="kinder" if kids else "sachbuch",
                people=[
                    ("Friederike Hahn" if kids else "Dr. Klaus Overbeck", AUTHOR),
                    (NARRATORS[n % len(NARRATORS)], NARRATOR),
                ],
                publisher="Lenne Hörbuch",
                year=rng.randint(2019, 2026),
                subjects=["Hörspiel", "Kinder" if kids else "Stadtgeschichte", "Iserlohn"],
                classification="J 1 Hör" if kids else "Ggu Iserlohn",
                description=f"{series}, {title}. Ein Hörspiel zum Zuhören und Mitraten.",
                identifier=(IdentifierScheme.ISBN, _isbn(500 + n, audio=True)),
                series=series,
                number=n + 1,
                min_age=0 if kids else 6,
                duration=rng.randint(25, 55) * 60,
            )
        )
    return episodes


# --- e-magazines ----------------------------------------------------------------------------

MAGAZINES = [
    # (title, publisher, subjects, classification, min_age)
    (
        "Stadtmagazin Iserlohn",
        "Stadtmarketing Iserlohn",
        ["Iserlohn", "Stadtleben", "Termine"],
        "Ggu Iserlohn",
        None,
    ),
    ("Sauerland Wandern", "Hönnetal Medien", ["Wandern", "Sauerland", "Freizeit"], "Spo 300", None),
    (
        "Gartenfreund Märkischer Kreis",
        "Kleingartenverband Märkischer Kreis",
        ["Garten", "Natur"],
        "Nat 700",
        None,
    ),
    ("Computer & Alltag", "Lenne Medien", ["Computer", "Internet", "Smartphone"], "Tec 500", 12),
    ("Familie heute", "Lenne Medien", ["Familie", "Erziehung", "Kinder"], "Soz 200", None),
]
MONTHS = [
    "Januar",
    "Februar",
    "März",
    "April",
    "Mai",
    "Juni",
    "Juli",
    "August",
    "September",
    "Oktober",
    "November",
    "Dezember",
]


def magazines(rng: random.Random) -> list[Entry]:
    """Twelve monthly issues of five magazines (the newest: 11/2026)."""
    issues = []
    for m, (name, publisher, subjects, classification, age) in enumerate(MAGAZINES):
        for k in range(12):
            month, year = (11 - k - 1) % 12 + 1, 2026 if k <= 10 else 2025
            issues.append(
                Entry(
                    kind=MediaKind.EMAGAZINE,
                    title=f"{name} {month}/{year}",
                    subtitle=f"Ausgabe {MONTHS[month - 1]} {year}",
                    genre="magazin",
                    people=[(rng.choice(["Redaktion", "Anke Brüggemann", "Stefan Rohde"]), EDITOR)],
                    publisher=publisher,
                    year=year,
                    subjects=[*subjects, "Zeitschrift"],
                    classification=classification,
                    description=f"Die {MONTHS[month - 1]}-Ausgabe von „{name}“: Berichte, "
                    "Tipps und Termine aus der Region.",
                    identifier=(IdentifierScheme.OTHER, f"ZS-{m + 1:02d}-{year}-{month:02d}"),
                    series=name,
                    number=(year - 2000) * 12 + month,
                    min_age=age,
                    pages=rng.randint(36, 68),
                )
            )
    return issues


# --- videos of VHS courses ------------------------------------------------------------------

# One course a line: series | instructor | subjects | classification | episodes
COURSES_TABLE = """
Yoga am Abend | Claudia Merten | Yoga, Gesundheit, Bewegung | Spo 700 | Ankommen; Der Sonnengruß; Standhaltungen; Atmen; Entspannen
Excel für Einsteiger | Rainer Vogel | Excel, Computer, Büro | Tec 520 | Tabellen anlegen; Formeln; Diagramme; Filtern und Sortieren; Drucken
Aquarellmalerei | Beate Lorenz | Malen, Aquarell, Kunst | Kun 300 | Farben mischen; Himmel und Wasser; Bäume; Licht und Schatten; Das erste Bild
Stadtgeschichte Iserlohn | Dr. Klaus Overbeck | Iserlohn, Stadtgeschichte | Ggu Iserlohn | Die Anfänge; Drahtrollen und Nadeln; Die Industrialisierung; Krieg und Wiederaufbau; Hochschulstadt
Englisch für die Reise | Sarah Whitfield | Englisch, Sprachen, Reisen | Spr 100 | Am Flughafen; Im Hotel; Im Restaurant; Nach dem Weg fragen; Einkaufen
Brot backen wie früher | Ulrike Sandmann | Backen, Kochen | Hau 300 | Der Sauerteig; Das erste Brot; Brötchen; Vollkorn; Festtagszopf
Smartphone für Senioren | Sandra Pohl | Smartphone, Senioren, Internet | Tec 560 | Einschalten und Entsperren; Telefonieren; Fotos; Nachrichten; Sicherheit
Rückenfit | Claudia Merten | Gesundheit, Bewegung, Rücken | Spo 710 | Aufwärmen; Kräftigen; Dehnen; Im Büro; Zu Hause üben
Deutsch im Alltag | Aylin Kaya | Deutsch lernen, Sprachen | Spr 010 | Sich vorstellen; Beim Arzt; Auf dem Amt; Wohnung suchen; Arbeit
Balkongarten | Ulrike Sandmann | Garten, Balkon, Gemüse | Nat 710 | Planen; Säen; Pflanzen; Gießen und Düngen; Ernten
Fotografieren mit dem Smartphone | Jonas Reuter | Fotografie, Smartphone | Kun 800 | Licht; Bildaufbau; Porträts; Landschaft; Bearbeiten
Erste Hilfe am Kind | Dr. Anna Lindemann | Erste Hilfe, Kinder, Gesundheit | Med 200 | Notruf; Verletzungen; Fieber; Verschlucken; Unfälle im Haushalt
"""
COURSES = [
    (series, teacher, subjects.split(", "), classification, episodes.split("; "))
    for series, teacher, subjects, classification, episodes in (
        (c.strip() for c in line.split("|")) for line in COURSES_TABLE.strip().splitlines()
    )
]


def videos(rng: random.Random) -> list[Entry]:
    """Five recorded sessions of each of twelve VHS courses."""
    out = []
    for c, (series, teacher, subjects, classification, episodes) in enumerate(COURSES):
        for n, episode in enumerate(episodes, 1):
            out.append(
                Entry(
                    kind=MediaKind.VIDEO,
                    title=f"{series}: {episode}",
                    subtitle=f"Kursvideo, Teil {n}",
                    genre="video",
                    people=[(teacher, AUTHOR)],
                    publisher="VHS Iserlohn",
                    year=rng.randint(2022, 2026),
                    subjects=[*subjects, "Kursvideo"],
                    classification=classification,
                    description=f"Teil {n} des VHS-Kurses „{series}“ mit {teacher}: "
                    f"{episode}.\n\nZum Mitmachen zu Hause, in Ihrem Tempo.",
                    identifier=(IdentifierScheme.OTHER, f"VHS-V-{c + 1:02d}-{n}"),
                    series=series,
                    number=n,
                    min_age=0 if "Erste Hilfe" not in series else 12,
                    duration=rng.randint(12, 45) * 60,
                )
            )
    return out


# --- documents ------------------------------------------------------------------------------


def documents(rng: random.Random) -> list[Entry]:
    """Programmhefte, annual reports, event calendars and the rules of the house."""
    specs: list[tuple[str, str, str, list[str], int, str]] = []
    for year in range(2018, 2028):
        for term in ("Frühjahr", "Herbst"):
            specs.append(
                (
                    f"Programmheft {term} {year}",
                    "VHS Iserlohn",
                    "Programmheft",
                    ["Programmheft", "Volkshochschule", "Kurse"],
                    year,
                    "A 100",
                )
            )
    for year in range(2016, 2026):
        specs.append(
            (
                f"Jahresbericht der Stadtbücherei {year}",
                "Stadtbücherei Iserlohn",
                "Jahresbericht",
                ["Jahresbericht", "Bibliothek"],
                year + 1,
                "A 200",
            )
        )
    for month in range(1, 13):
        specs.append(
            (
                f"Veranstaltungskalender {MONTHS[month - 1]} 2026",
                "Stadtbücherei Iserlohn",
                "Veranstaltungen",
                ["Veranstaltungen", "Termine", "Iserlohn"],
                2026,
                "A 300",
            )
        )
    for name in (
        "Benutzungsordnung der Stadtbücherei",
        "Gebührenordnung der Stadtbücherei",
        "Satzung der Volkshochschule",
        "Hausordnung des VHS-Hauses",
        "Datenschutzhinweise für Kursteilnehmende",
        "Entgeltordnung der Volkshochschule",
    ):
        specs.append(
            (
                name,
                "Stadt Iserlohn",
                "Satzung",
                ["Satzung", "Ordnung", "Iserlohn"],
                rng.randint(2020, 2026),
                "Rec 100",
            )
        )
    for season, year in [
        (s, y) for y in (2024, 2025, 2026) for s in ("Frühling", "Sommer", "Herbst", "Winter")
    ]:
        specs.append(
            (
                f"Lesetipps {season} {year}",
                "Stadtbücherei Iserlohn",
                "Leseliste",
                ["Lesetipps", "Empfehlungen", "Bibliothek"],
                year,
                "A 400",
            )
        )
    out = []
    for n, (title, publisher, kind_word, subjects, year, classification) in enumerate(specs[:60]):
        out.append(
            Entry(
                kind=MediaKind.DOCUMENT,
                title=title,
                genre="dokument",
                people=[(publisher, EDITOR)],
                publisher=publisher,
                year=year,
                subjects=subjects,
                classification=classification,
                description=f"{kind_word}: {title}. Herausgegeben von {publisher}.",
                identifier=(IdentifierScheme.OTHER, f"VHS-D-{n + 1:03d}"),
                pages=3,
                extra={"kind_word": kind_word},
            )
        )
    return out


def curated(seed: int = 11) -> list[Entry]:
    """The whole curated stock, the same every time."""
    rng = random.Random(seed)
    ebooks, audiobooks = books(rng)
    return [*ebooks, *audiobooks, *magazines(rng), *videos(rng), *documents(rng)]
