"""The text inside the demo's EPUBs and PDFs: short chapters, per genre and language.

Written for this project, except two public-domain classics quoted at their beginning:
Theodor Fontane's "Herr von Ribbeck auf Ribbeck im Havelland" (1889) and the Brothers
Grimm's "Die Bremer Stadtmusikanten" (1819).
"""

from __future__ import annotations

Chapters = list[tuple[str, str]]

KRIMI: Chapters = [
    (
        "Nebel über dem Seilersee",
        """Der Nebel lag so dicht über dem Seilersee, dass Kommissarin Brandt die Enten nur
hörte. Sie stand am Ufer, die Hände tief in den Taschen, und sah zu, wie die Kollegen von der
Spurensicherung ihre weißen Anzüge überzogen.

„Ein Spaziergänger hat ihn gefunden“, sagte Oberkommissar Yılmaz und reichte ihr einen
Becher Kaffee vom Kiosk. „Kurz nach sechs. Der Hund wollte nicht weitergehen.“

Brandt nickte. Auf dem Steg lag ein Schuh, ordentlich abgestellt, als hätte sein Besitzer nur
kurz ins Wasser gehen wollen. Der zweite fehlte.""",
    ),
    (
        "Ein Anruf aus Letmathe",
        """Im Präsidium roch es nach Bohnerwachs und kaltem Zigarettenrauch, obwohl seit Jahren
niemand mehr im Gebäude rauchen durfte. Brandt legte die Akte auf den Tisch und öffnete das
Fenster.

Das Telefon klingelte, bevor sie sich setzen konnte. Eine Frau aus Letmathe, die Stimme leise
und sehr bestimmt: Ihr Nachbar sei seit drei Tagen nicht nach Hause gekommen, und sein Auto
stehe noch immer auf dem Parkplatz am Seilersee.

„Können Sie mir sagen, wie er heißt?“, fragte Brandt und griff nach einem Stift.""",
    ),
    (
        "Die Spur führt in die Altstadt",
        """Am Abend ging Brandt zu Fuß durch die Altstadt. Die Geschäfte an der Wermingser
Straße hatten geschlossen, nur beim Italiener an der Ecke brannte noch Licht.

Der Tote hatte dort jeden Donnerstag gegessen, immer am selben Tisch, immer allein. Der Wirt
erinnerte sich an ihn, und er erinnerte sich an den Mann, der ihn am letzten Donnerstag
angesprochen hatte: groß, grauer Mantel, ein Schlüsselbund mit einem roten Anhänger.

Brandt bedankte sich und trat hinaus in die kühle Luft. Ein roter Anhänger. Sie hatte ihn
heute schon einmal gesehen.""",
    ),
]

KINDER: Chapters = [
    (
        "Die kleine Hexe wacht auf",
        """Hoch oben auf dem Hemberg, zwischen drei alten Buchen, stand ein schiefes Haus. Darin
wohnte die kleine Hexe Hilde mit ihrem Raben Rudi.

Jeden Morgen weckte Rudi sie mit demselben Lied. Es klang ein bisschen wie eine quietschende
Tür, aber Hilde mochte es trotzdem.

„Heute“, sagte Hilde und sprang aus dem Bett, „heute lerne ich endlich fliegen. Ganz ohne
Hinfallen!“ Rudi legte den Kopf schief. Das hatte sie gestern auch gesagt.""",
    ),
    (
        "Der Besen will nicht",
        """Der Besen stand in der Ecke und tat so, als schliefe er. Hilde stupste ihn an. Nichts.
Sie kitzelte ihn an den Borsten. Der Besen kicherte, aber er rührte sich nicht.

„Vielleicht“, krächzte Rudi, „möchte er erst gefragt werden.“

Hilde dachte nach. Dann verbeugte sie sich tief und sagte: „Lieber Besen, würdest du mich
bitte ein kleines Stück fliegen lassen?“ Und siehe da: Der Besen hob sich langsam in die
Luft.""",
    ),
]

SACHBUCH: Chapters = [
    (
        "Warum ein Balkon genügt",
        """Wer Gemüse ernten möchte, braucht keinen großen Garten. Schon zwei Quadratmeter
Balkon reichen für Tomaten, Kräuter und Salat, wenn sie genug Sonne bekommen.

Wichtig sind drei Dinge: ein heller Platz, Gefäße mit Abzugslöchern und gute Erde. Alles
andere lernt man mit der Zeit, und die meisten Fehler verzeiht eine Pflanze.

In diesem Kapitel planen wir Ihren Balkon: Wo scheint wie lange die Sonne? Wie viel Gewicht
trägt das Geländer? Und welche Pflanzen vertragen sich miteinander?""",
    ),
    (
        "Die richtige Erde",
        """Erde ist nicht gleich Erde. Für Gefäße eignet sich eine lockere, torffreie
Pflanzerde, die Wasser hält und trotzdem Luft an die Wurzeln lässt.

Mischen Sie etwas reifen Kompost unter, wenn Sie ihn haben. Starkzehrer wie Tomaten und
Zucchini freuen sich im Sommer zusätzlich über organischen Dünger.

Alte Erde müssen Sie nicht wegwerfen: Mit Kompost aufgefrischt trägt sie im nächsten Jahr
Kräuter und Salat, die weniger Nährstoffe brauchen.""",
    ),
]

RATGEBER: Chapters = [
    (
        "Bevor es losgeht",
        """Dieser Ratgeber begleitet Sie Schritt für Schritt. Sie brauchen keine Vorkenntnisse,
nur etwas Zeit und die Unterlagen des letzten Jahres.

Legen Sie sich einen festen Termin in den Kalender, am besten zwei Stunden an einem ruhigen
Vormittag. Wer alles auf einmal erledigen will, gibt schnell auf.

Am Ende jedes Kapitels finden Sie eine kurze Liste: Was habe ich erledigt, was fehlt noch?
Haken Sie ab, was geschafft ist. Das motiviert mehr, als man denkt.""",
    ),
    (
        "Ordnung in den Unterlagen",
        """Ein Ordner, zwölf Trennblätter, ein Stift: Mehr brauchen Sie für den Anfang nicht.
Sortieren Sie Belege nach Monaten, nicht nach Themen, dann finden Sie alles wieder.

Digitale Rechnungen speichern Sie in einem Ordner auf dem Rechner, ebenfalls nach Monaten.
Ein Foto mit dem Smartphone ersetzt keinen Beleg, hilft aber, wenn das Papier verblasst.""",
    ),
]

ROMAN: Chapters = [
    (
        "Ankunft",
        """Der Zug aus Hagen hatte Verspätung, wie immer. Marie stand am Fenster und sah die
Lenne neben den Gleisen herfließen, braun und schnell nach dem Regen der letzten Woche.

Zwanzig Jahre war sie nicht mehr hier gewesen. Sie hatte sich vorgenommen, nichts zu
erwarten, und erwartete doch alles: das Haus, den Garten, die Mutter an der Tür.

Am Bahnhof wartete niemand. Marie nahm ihren Koffer und ging zu Fuß den Berg hinauf.""",
    ),
    (
        "Das Haus",
        """Das Haus war kleiner, als sie es in Erinnerung hatte. Der Apfelbaum im Vorgarten war
gefällt worden, an seiner Stelle stand ein Carport mit einem grünen Fahrrad darunter.

Sie klingelte. Drinnen bellte ein Hund, dann Schritte, dann öffnete ein Junge von vielleicht
zehn Jahren die Tür und sah sie neugierig an.

„Wohnt hier noch Frau Becker?“, fragte Marie. Der Junge schüttelte den Kopf.""",
    ),
]

KLASSIKER: Chapters = [
    (
        "Herr von Ribbeck auf Ribbeck im Havelland",
        """Herr von Ribbeck auf Ribbeck im Havelland,
Ein Birnbaum in seinem Garten stand,
Und kam die goldene Herbsteszeit
Und die Birnen leuchteten weit und breit,
Da stopfte, wenn's Mittag vom Turme scholl,
Der von Ribbeck sich beide Taschen voll,
Und kam in Pantinen ein Junge daher,
So rief er: „Junge, wiste 'ne Beer?“
Und kam ein Mädel, so rief er: „Lütt Dirn,
Kumm man röwer, ick hebb 'ne Birn.“

(Theodor Fontane, 1889)""",
    ),
    (
        "Die Bremer Stadtmusikanten",
        """Es hatte ein Mann einen Esel, der schon lange Jahre die Säcke unverdrossen zur Mühle
getragen hatte, dessen Kräfte aber nun zu Ende gingen, so dass er zur Arbeit immer untauglicher
ward.

Da dachte der Herr daran, ihn aus dem Futter zu schaffen; aber der Esel merkte, dass kein
guter Wind wehte, lief fort und machte sich auf den Weg nach Bremen: dort, meinte er, könnte
er ja Stadtmusikant werden.

(Brüder Grimm, Kinder- und Hausmärchen)""",
    ),
]

OTHER_LANGUAGES: dict[str, Chapters] = {
    "en": [
        (
            "Chapter One",
            """The lighthouse had been dark for eleven years when Ellen climbed its stairs again.
The paint was peeling, the railings were cold, and the sea below was exactly as loud as she
remembered.

She had come back to sell the place. That was the plan, and she intended to keep to it.""",
        )
    ],
    "tr": [
        (
            "Birinci Bölüm",
            """Bir varmış, bir yokmuş. Küçük bir kasabada, büyük bir ağacın altında, Ayşe adında
meraklı bir kız yaşarmış.

Ayşe her akşam ağacın dallarına bakar ve yıldızları sayarmış. Bir gece, en parlak yıldız ona
göz kırpmış.""",
        )
    ],
    "ar": [
        (
            "الفصل الأول",
            """في مدينة صغيرة بين الجبال، كانت هناك مكتبة قديمة. كل صباح كانت ليلى تذهب إليها
لتقرأ كتابًا جديدًا.

في يوم من الأيام وجدت ليلى رسالة صغيرة بين صفحات كتاب قديم.""",
        )
    ],
    "uk": [
        (
            "Розділ перший",
            """Перший день у новому місті завжди трохи дивний. Олена вийшла з вокзалу, подивилася
на карту і глибоко вдихнула.

Бібліотека була недалеко, на головній вулиці. Там на неї вже чекали.""",
        )
    ],
}

BY_GENRE: dict[str, Chapters] = {
    "krimi": KRIMI,
    "kinder": KINDER,
    "sachbuch": SACHBUCH,
    "ratgeber": RATGEBER,
    "roman": ROMAN,
    "klassiker": KLASSIKER,
}


def chapters(genre: str, language: str) -> Chapters:
    """The chapters an EPUB of ``genre`` in ``language`` holds."""
    if language != "de":
        return OTHER_LANGUAGES.get(language, ROMAN)
    return BY_GENRE.get(genre, ROMAN)


# Short texts for the pages of the demo PDFs (magazines and documents), Latin-1 only.
MAGAZINE_PAGES = [
    "Inhalt\n\nAus der Stadt: Neues vom Rathausplatz\nKultur: Lesungen in der Stadtbücherei\n"
    "Freizeit: Wandern rund um den Seilersee\nTermine des Monats",
    "Aus der Stadt\n\nDer Rathausplatz bekommt neue Bänke und mehr Bäume. Die Arbeiten beginnen "
    "im Frühjahr und sollen bis zum Sommer abgeschlossen sein. Der Wochenmarkt zieht so lange "
    "auf den Alten Rathausplatz um.",
    "Kultur\n\nIn der Stadtbücherei lesen in diesem Monat drei Autorinnen aus der Region. Der "
    "Eintritt ist frei, um Anmeldung wird gebeten. Für Kinder gibt es samstags eine "
    "Vorlesestunde.",
]

DOCUMENT_PAGES = [
    "Vorwort\n\nLiebe Leserinnen und Leser, mit diesem Heft legen wir Ihnen unser Angebot vor. "
    "Alle Angaben ohne Gewähr; Änderungen finden Sie tagesaktuell auf unserer Website.",
    "Allgemeine Hinweise\n\nAnmeldungen sind online, telefonisch und persönlich möglich. "
    "Ermäßigungen gelten für Schülerinnen und Schüler, Studierende und Inhaber des "
    "Iserlohn-Passes.",
    "Kontakt\n\nVHS und Stadtbücherei Iserlohn, Theodor-Heuss-Ring 24, 58636 Iserlohn. "
    "Öffnungszeiten: Montag bis Freitag 9 bis 18 Uhr, Samstag 10 bis 13 Uhr.",
]
