"""A car-workshop FAQ in fi, sv and en, and queries people type, with the expected entry."""

# ruff: noqa: E501  (the answers are prose, kept one per line)

from __future__ import annotations

from intakeforms.faq.search import SearchEntry

# id: {language: (question, answer, keywords)}
_FAQ: dict[str, dict[str, tuple[str, str, tuple[str, ...]]]] = {
    "winter-tyres": {
        "fi": (
            "Milloin talvirenkaat vaihdetaan?",
            "Talvirenkaat saa vaihtaa lokakuun alusta. Renkaanvaihto kestää noin 30 minuuttia; varaa aika verkossa.",
            ("nastarenkaat", "kitkarenkaat", "renkaanvaihto", "rengasvaihto", "talvikumit"),
        ),
        "sv": (
            "När byter man till vinterdäck?",
            "Vinterdäck får monteras från oktober. Däckbytet tar cirka 30 minuter; boka tid på nätet.",
            ("dubbdäck", "friktionsdäck", "däckbyte", "hjulbyte"),
        ),
        "en": (
            "When do winter tyres go on?",
            "Winter tyres may be fitted from October. A tyre change takes about 30 minutes; book online.",
            ("studded tires", "snow tires", "tyre change", "wheel swap"),
        ),
    },
    "tyre-hotel": {
        "fi": (
            "Voinko säilyttää renkaat teillä?",
            "Rengashotelli säilyttää renkaasi pestyinä ja tarkastettuina 69 euroa kaudessa.",
            ("rengashotelli", "rengasvarasto", "renkaiden säilytys", "kumien säilytys"),
        ),
        "sv": (
            "Kan ni förvara mina däck?",
            "Vårt däckhotell förvarar dina däck tvättade och kontrollerade för 69 euro per säsong.",
            ("däckhotell", "däckförvaring", "hjulförvaring"),
        ),
        "en": (
            "Can you store my tyres?",
            "Our tyre hotel stores your tyres washed and checked for 69 euros a season.",
            ("tyre hotel", "tire storage", "wheel storage"),
        ),
    },
    "service-interval": {
        "fi": (
            "Kuinka usein auto pitää huoltaa?",
            "Huoltoväli on yleensä 15 000–30 000 km tai kerran vuodessa; katso auton huoltokirja.",
            ("huoltoväli", "määräaikaishuolto", "vuosihuolto"),
        ),
        "sv": (
            "Hur ofta ska bilen servas?",
            "Serviceintervallet är oftast 15 000–30 000 km eller en gång om året; se bilens servicebok.",
            ("serviceintervall", "årsservice", "service"),
        ),
        "en": (
            "How often should my car be serviced?",
            "The service interval is usually 15,000–30,000 km or once a year; see the service book.",
            ("service interval", "annual service", "maintenance schedule"),
        ),
    },
    "change-booking": {
        "fi": (
            "Miten muutan varaamani ajan?",
            "Voit siirtää aikaa vahvistusviestin linkistä tai soittamalla meille viimeistään edellisenä päivänä.",
            ("ajanvaraus", "siirtää", "muuttaa aikaa", "uusi aika"),
        ),
        "sv": (
            "Hur ändrar jag min bokade tid?",
            "Du kan flytta tiden via länken i bekräftelsen eller genom att ringa oss senast dagen innan.",
            ("ombokning", "flytta tid", "ändra bokning"),
        ),
        "en": (
            "How do I change my booking?",
            "You can move your appointment from the link in the confirmation or by calling us the day before at the latest.",
            ("reschedule", "move appointment", "change appointment"),
        ),
    },
    "cancel-booking": {
        "fi": (
            "Miten peruutan varauksen?",
            "Peruuta aika vahvistusviestin linkistä. Alle 24 tuntia ennen peruutetusta ajasta veloitamme 30 euroa.",
            ("peruutus", "perua", "perun", "peruminen"),
        ),
        "sv": (
            "Hur avbokar jag min tid?",
            "Avboka via länken i bekräftelsen. Avbokning senare än 24 timmar innan kostar 30 euro.",
            ("avbokning", "avboka", "ställa in"),
        ),
        "en": (
            "How do I cancel my booking?",
            "Cancel from the link in the confirmation. Cancelling less than 24 hours before costs 30 euros.",
            ("cancellation", "call off", "cancel appointment"),
        ),
    },
    "opening-hours": {
        "fi": (
            "Mitkä ovat aukioloaikanne?",
            "Korjaamo on auki ma–pe 7–17 ja la 9–14. Sunnuntaisin suljettu.",
            ("aukiolo", "auki", "aukioloajat", "lauantai", "sunnuntai"),
        ),
        "sv": (
            "Vilka är era öppettider?",
            "Verkstaden har öppet mån–fre 7–17 och lör 9–14. Stängt på söndagar.",
            ("öppet", "öppettider", "lördag", "söndag"),
        ),
        "en": (
            "What are your opening hours?",
            "The workshop is open Mon–Fri 7–17 and Sat 9–14. Closed on Sundays.",
            ("open", "hours", "saturday", "sunday", "closed"),
        ),
    },
    "warranty": {
        "fi": (
            "Onko korjauksilla takuu?",
            "Korjaustöillä on 12 kuukauden takuu ja varaosilla valmistajan takuu. Huolto meillä ei vaaranna auton tehdastakuuta.",
            ("takuu", "tehdastakuu", "takuukorjaus", "reklamaatio"),
        ),
        "sv": (
            "Har reparationerna garanti?",
            "Reparationer har 12 månaders garanti och reservdelar tillverkarens garanti. Service hos oss påverkar inte bilens nybilsgaranti.",
            ("garanti", "nybilsgaranti", "reklamation"),
        ),
        "en": (
            "Is there a warranty on repairs?",
            "Repairs carry a 12-month warranty and parts the maker's warranty. Servicing with us keeps the car's factory warranty valid.",
            ("guarantee", "factory warranty", "complaint"),
        ),
    },
    "inspection": {
        "fi": (
            "Teettekö katsastuksen?",
            "Emme katsasta, mutta teemme katsastuskuntoon laittamisen ja voimme viedä auton katsastukseen puolestasi.",
            ("katsastus", "määräaikaiskatsastus", "jälkitarkastus"),
        ),
        "sv": (
            "Gör ni besiktning?",
            "Vi besiktar inte själva, men vi gör bilen klar för besiktning och kan köra den till besiktningen åt dig.",
            ("besiktning", "kontrollbesiktning", "efterkontroll"),
        ),
        "en": (
            "Do you do vehicle inspections?",
            "We do not inspect cars ourselves, but we prepare the car for the MOT inspection and can drive it there for you.",
            ("MOT", "roadworthiness test", "inspection"),
        ),
    },
    "prices": {
        "fi": (
            "Paljonko huolto maksaa?",
            "Hinnasto on verkkosivuillamme. Määräaikaishuolto alkaen 189 euroa, öljynvaihto alkaen 89 euroa. Annamme kustannusarvion ennen työtä.",
            ("hinta", "hinnat", "hinnasto", "kustannusarvio", "tarjous"),
        ),
        "sv": (
            "Vad kostar en service?",
            "Prislistan finns på vår webbplats. Service från 189 euro, oljebyte från 89 euro. Vi ger en kostnadsuppskattning innan arbetet.",
            ("pris", "priser", "prislista", "kostnadsförslag", "offert"),
        ),
        "en": (
            "How much does a service cost?",
            "Our price list is on the website. Service from 189 euros, oil change from 89 euros. We give an estimate before any work.",
            ("price", "prices", "quote", "estimate", "cost"),
        ),
    },
    "payment": {
        "fi": (
            "Miten voin maksaa?",
            "Maksaa voi kortilla, MobilePaylla tai laskulla 14 päivän maksuajalla. Osamaksu onnistuu yli 300 euron töihin.",
            ("maksutavat", "lasku", "kortti", "osamaksu", "mobilepay"),
        ),
        "sv": (
            "Hur kan jag betala?",
            "Du kan betala med kort, MobilePay eller faktura med 14 dagars betalningstid. Delbetalning för arbeten över 300 euro.",
            ("betalsätt", "faktura", "kort", "delbetalning"),
        ),
        "en": (
            "How can I pay?",
            "You can pay by card, MobilePay or invoice with 14 days to pay. Instalments for work over 300 euros.",
            ("payment", "invoice", "bill", "card", "instalment"),
        ),
    },
    "courtesy-car": {
        "fi": (
            "Saanko sijaisauton huollon ajaksi?",
            "Sijaisauto maksaa 25 euroa päivässä; varaa se samalla kun varaat huollon. Polkupyörän saa lainaan ilmaiseksi.",
            ("sijaisauto", "lainaauto", "vaihtoauto", "korvaava auto"),
        ),
        "sv": (
            "Kan jag få en lånebil under servicen?",
            "Lånebil kostar 25 euro per dag; boka den samtidigt som servicen. Cykel lånar du gratis.",
            ("lånebil", "ersättningsbil", "hyrbil"),
        ),
        "en": (
            "Can I get a courtesy car during the service?",
            "A courtesy car costs 25 euros a day; book it with the service. You can borrow a bicycle for free.",
            ("loan car", "replacement car", "rental car"),
        ),
    },
    "waiting-time": {
        "fi": (
            "Kauanko huolto kestää, voinko odottaa?",
            "Tavallinen huolto kestää 1–2 tuntia. Asiakastilassa on kahvia ja wifi, voit odottaa paikan päällä.",
            ("odotus", "kesto", "odotustila", "kahvi", "valmis"),
        ),
        "sv": (
            "Hur länge tar servicen, kan jag vänta?",
            "En vanlig service tar 1–2 timmar. I kundrummet finns kaffe och wifi, du kan vänta på plats.",
            ("väntetid", "väntrum", "kaffe", "klar"),
        ),
        "en": (
            "How long does a service take, can I wait?",
            "A normal service takes 1–2 hours. Our lounge has coffee and wifi, you are welcome to wait.",
            ("waiting", "duration", "lounge", "ready"),
        ),
    },
    "brakes": {
        "fi": (
            "Jarrut pitävät ääntä, mitä teen?",
            "Vinkuvat tai rahisevat jarrut kannattaa tarkastaa pian. Jarrupalojen vaihto alkaen 149 euroa, jarrulevyt tarvittaessa.",
            ("jarrupalat", "jarrulevyt", "jarrut", "vinkuu", "kitisee"),
        ),
        "sv": (
            "Bromsarna låter, vad ska jag göra?",
            "Gnisslande bromsar bör kontrolleras snart. Byte av bromsbelägg från 149 euro, bromsskivor vid behov.",
            ("bromsbelägg", "bromsskivor", "bromsar", "gnisslar"),
        ),
        "en": (
            "My brakes are making noise, what should I do?",
            "Squealing or grinding brakes should be checked soon. Brake pads from 149 euros, discs when needed.",
            ("brake pads", "brake discs", "squeal", "grinding"),
        ),
    },
    "air-conditioning": {
        "fi": (
            "Ilmastointi ei viilennä, huollatteko sen?",
            "Ilmastointihuolto sisältää kylmäaineen täytön ja tiiviystestin, hinta 99 euroa.",
            ("ilmastointi", "ilmastointihuolto", "AC", "kylmäaine", "jäähdytys"),
        ),
        "sv": (
            "AC:n kyler inte, servar ni den?",
            "AC-service omfattar påfyllning av köldmedium och täthetstest, pris 99 euro.",
            ("luftkonditionering", "AC", "köldmedium", "klimatanläggning"),
        ),
        "en": (
            "The air conditioning is not cooling, can you service it?",
            "An AC service refills the refrigerant and tests for leaks, price 99 euros.",
            ("AC", "aircon", "refrigerant", "climate control"),
        ),
    },
    "oil-change": {
        "fi": (
            "Vaihdatteko öljyt ilman ajanvarausta?",
            "Öljynvaihto onnistuu usein ilman varausta arkisin; se kestää 30 minuuttia ja sisältää öljynsuodattimen.",
            ("öljynvaihto", "moottoriöljy", "öljynsuodatin", "öljyt"),
        ),
        "sv": (
            "Byter ni olja utan bokning?",
            "Oljebyte går ofta utan bokning på vardagar; det tar 30 minuter och oljefiltret ingår.",
            ("oljebyte", "motorolja", "oljefilter"),
        ),
        "en": (
            "Can I get an oil change without booking?",
            "Oil changes are often possible without an appointment on weekdays; it takes 30 minutes and includes the oil filter.",
            ("oil change", "engine oil", "oil filter", "drop in"),
        ),
    },
    "warning-light": {
        "fi": (
            "Kojelaudassa palaa vikavalo, mitä teen?",
            "Varaa vianmääritys; luemme vikakoodit diagnostiikkalaitteella 59 eurolla. Punaisen valon palaessa pysähdy.",
            ("vikavalo", "merkkivalo", "check engine", "vianmääritys", "vikakoodi"),
        ),
        "sv": (
            "En varningslampa lyser, vad gör jag?",
            "Boka felsökning; vi läser felkoderna med diagnosverktyg för 59 euro. Lyser en röd lampa, stanna.",
            ("varningslampa", "motorlampa", "felsökning", "felkod"),
        ),
        "en": (
            "A warning light is on, what should I do?",
            "Book a diagnostic check; we read the fault codes for 59 euros. If a red light is on, stop driving.",
            ("check engine light", "diagnostics", "fault code", "dashboard light"),
        ),
    },
    "location": {
        "fi": (
            "Missä korjaamo sijaitsee?",
            "Olemme osoitteessa Korjaamotie 5, Vantaa. Asiakaspysäköinti on pihalla ja bussipysäkki 200 metrin päässä.",
            ("osoite", "sijainti", "ajo-ohjeet", "pysäköinti", "parkkipaikka"),
        ),
        "sv": (
            "Var ligger verkstaden?",
            "Vi finns på Verkstadsvägen 5, Vanda. Kundparkering på gården och busshållplats 200 meter bort.",
            ("adress", "vägbeskrivning", "parkering"),
        ),
        "en": (
            "Where is the workshop?",
            "We are at Korjaamotie 5, Vantaa. Customer parking in the yard and a bus stop 200 metres away.",
            ("address", "directions", "parking", "location"),
        ),
    },
    "electric-cars": {
        "fi": (
            "Huollatteko sähköautoja ja hybridejä?",
            "Kyllä, huollamme sähkö- ja hybridiautoja; korkeajännitetyöt tekee koulutettu mekaanikko. Akun kuntotesti 79 euroa.",
            ("sähköauto", "hybridi", "täyssähkö", "akku", "ladattava"),
        ),
        "sv": (
            "Servar ni elbilar och hybrider?",
            "Ja, vi servar el- och hybridbilar; högspänningsarbeten görs av utbildade mekaniker. Batteritest 79 euro.",
            ("elbil", "hybrid", "laddhybrid", "batteri"),
        ),
        "en": (
            "Do you service electric and hybrid cars?",
            "Yes, we service electric and hybrid cars; high-voltage work is done by trained mechanics. Battery health check 79 euros.",
            ("EV", "electric vehicle", "plug-in hybrid", "battery"),
        ),
    },
}

FORMS = {"courtesy-car": ("car-service",), "brakes": ("car-service", "repair")}

ENTRIES: dict[str, list[SearchEntry]] = {
    language: [
        SearchEntry(entry_id, *texts[language][:2], texts[language][2], FORMS.get(entry_id, ()))
        for entry_id, texts in _FAQ.items()
    ]
    for language in ("fi", "sv", "en")
}

# (language, query, expected entry id or None when the FAQ has no answer)
QUERIES: list[tuple[str, str, str | None]] = [
    # Finnish: inflected, compounds, typos, colloquial, answer-only words
    ("fi", "talvirenkaiden vaihto", "winter-tyres"),
    ("fi", "renkaanvaihtoon aikaa", "winter-tyres"),
    ("fi", "talvirenkat", "winter-tyres"),
    ("fi", "koska nastat alle", "winter-tyres"),
    ("fi", "talvikumit alle", "winter-tyres"),
    ("fi", "rengashotellin hinta", "tyre-hotel"),
    ("fi", "renkaiden säilytys talveksi", "tyre-hotel"),
    ("fi", "säilytättekö kesärenkaita", "tyre-hotel"),
    ("fi", "huoltoväli", "service-interval"),
    ("fi", "kuinka usein huolto pitää tehdä", "service-interval"),
    ("fi", "vuosihuollon väli", "service-interval"),
    ("fi", "ajan siirto toiseen päivään", "change-booking"),
    ("fi", "haluan muuttaa varausta", "change-booking"),
    ("fi", "perua aika", "cancel-booking"),
    ("fi", "peruutusmaksu", "cancel-booking"),
    ("fi", "aukioloajat lauantaina", "opening-hours"),
    ("fi", "oletteko auki sunnuntaina", "opening-hours"),
    ("fi", "takuu korjauksille", "warranty"),
    ("fi", "meneekö tehdastakuu", "warranty"),
    ("fi", "katsastukseen vienti", "inspection"),
    ("fi", "katsastus", "inspection"),
    ("fi", "paljonko öljynvaihto maksaa", "oil-change"),
    ("fi", "hinnasto", "prices"),
    ("fi", "voiko maksaa laskulla", "payment"),
    ("fi", "osamaksu", "payment"),
    ("fi", "lainaauto huollon ajaksi", "courtesy-car"),
    ("fi", "sijasauto", "courtesy-car"),
    ("fi", "voiko huoltoa odottaa paikan päällä", "waiting-time"),
    ("fi", "jarrut vinkuu", "brakes"),
    ("fi", "jarrupalojen vaihto", "brakes"),
    ("fi", "ilmastointi ei toimi", "air-conditioning"),
    ("fi", "ac huolto", "air-conditioning"),
    ("fi", "moottorin vikavalo palaa", "warning-light"),
    ("fi", "korjaamon osoite", "location"),
    ("fi", "sähköauton huolto", "electric-cars"),
    ("fi", "myyttekö käytettyjä autoja", None),
    ("fi", "tuulilasin vaihto kivenisku", None),
    ("fi", "huomisen sää", None),
    ("fi", "voinko vuokrata pakettiauton", None),
    ("fi", "missä on lähin bensa-asema", None),
    ("fi", "haluan työpaikan teiltä", None),
    ("fi", "mikä on y-tunnuksenne", None),
    # Swedish
    ("sv", "däckhotellet", "tyre-hotel"),
    ("sv", "förvaring av sommardäcken", "tyre-hotel"),
    ("sv", "byta till vinterdäcken", "winter-tyres"),
    ("sv", "vinterdäk", "winter-tyres"),
    ("sv", "när får man ha dubbdäck", "winter-tyres"),
    ("sv", "däckbyte", "winter-tyres"),
    ("sv", "serviceintervallet", "service-interval"),
    ("sv", "hur ofta service", "service-interval"),
    ("sv", "flytta min tid", "change-booking"),
    ("sv", "ombokning", "change-booking"),
    ("sv", "avboka tiden", "cancel-booking"),
    ("sv", "avbokningsavgift", "cancel-booking"),
    ("sv", "öppettiderna på lördag", "opening-hours"),
    ("sv", "har ni öppet på söndag", "opening-hours"),
    ("sv", "garantin på reparationen", "warranty"),
    ("sv", "nybilsgarantin", "warranty"),
    ("sv", "besiktningen", "inspection"),
    ("sv", "köra bilen till besiktning", "inspection"),
    ("sv", "prislistan", "prices"),
    ("sv", "vad kostar servicen", "prices"),
    ("sv", "betala med faktura", "payment"),
    ("sv", "delbetalning", "payment"),
    ("sv", "lånebilen", "courtesy-car"),
    ("sv", "ersättningsbil", "courtesy-car"),
    ("sv", "hur länge tar det", "waiting-time"),
    ("sv", "bromsarna gnisslar", "brakes"),
    ("sv", "byta bromsbelägg", "brakes"),
    ("sv", "luftkonditioneringen kyler inte", "air-conditioning"),
    ("sv", "oljebyte utan tidsbokning", "oil-change"),
    ("sv", "motorlampan lyser", "warning-light"),
    ("sv", "adressen till verkstaden", "location"),
    ("sv", "elbilen service", "electric-cars"),
    ("sv", "säljer ni begagnade bilar", None),
    ("sv", "vindrutebyte stenskott", None),
    ("sv", "vädret i morgon", None),
    ("sv", "kan jag hyra en skåpbil", None),
    ("sv", "var finns närmaste bensinstation", None),
    ("sv", "söker ni mekaniker", None),
    ("sv", "vad är ert organisationsnummer", None),
    # English
    ("en", "winter tires", "winter-tyres"),
    ("en", "when to put on snow tyres", "winter-tyres"),
    ("en", "wintr tyres", "winter-tyres"),
    ("en", "tyre storage", "tyre-hotel"),
    ("en", "do you keep my summer tires", "tyre-hotel"),
    ("en", "how often service", "service-interval"),
    ("en", "maintenance schedule", "service-interval"),
    ("en", "reschedule my appointment", "change-booking"),
    ("en", "move my booking to friday", "change-booking"),
    ("en", "cancel appointment", "cancel-booking"),
    ("en", "cancellation fee", "cancel-booking"),
    ("en", "opening times", "opening-hours"),
    ("en", "are you open on saturday", "opening-hours"),
    ("en", "guarantee on repairs", "warranty"),
    ("en", "MOT", "inspection"),
    ("en", "price list", "prices"),
    ("en", "how much is a service", "prices"),
    ("en", "pay by invoice", "payment"),
    ("en", "pay in instalments", "payment"),
    ("en", "loan car", "courtesy-car"),
    ("en", "curtesy car", "courtesy-car"),
    ("en", "how long does it take", "waiting-time"),
    ("en", "squeaky brakes", "brakes"),
    ("en", "brake pad replacement", "brakes"),
    ("en", "aircon not cold", "air-conditioning"),
    ("en", "oil change walk in", "oil-change"),
    ("en", "engine light on", "warning-light"),
    ("en", "where are you located", "location"),
    ("en", "parking", "location"),
    ("en", "do you fix EVs", "electric-cars"),
    ("en", "refrigerant refill", "air-conditioning"),
    ("en", "do you sell used cars", None),
    ("en", "windscreen chip repair", None),
    ("en", "weather tomorrow", None),
    ("en", "can i rent a van", None),
    ("en", "where is the nearest petrol station", None),
    ("en", "are you hiring mechanics", None),
    ("en", "what is your vat number", None),
]
