"""A general Greek -> English glossary of the words shoppers use in support chats (docs/answer-quality.md,
"Greek": the English gloss). General knowledge of everyday Greek, written as data, not keyed to one
shop's articles or to any question set: verbs (in the forms people type), nouns and adjectives about
orders, delivery, returns, payment, products and problems.

Each line is "english words: greek words". The Greek words are matched by their index term (folded,
stemmed, spelt by sound: knowledge_base.text.term), so one form of a word stands for its
inflections, and Greeklish spellings meet it too. The English side is what the gloss writes for the
word: it is read by the English engine (lexical and MiniLM), so plain, common words are best.
A Greek word with two common senses gets both ("αλλαγή": change exchange)."""
from __future__ import annotations

GLOSSARY = """
order: παραγγελια παραγγελιες παραγγελνω παραγγειλα παρηγγειλα παραγγειλω παραγγειλει παραγγελθηκε
buy purchase: αγορα αγορες αγοραζω αγορασα αγορασω αγορασει ψωνισα ψωνιζω ψωνια
parcel package: δεμα δεματα πακετο πακετα δεματακι κουτι κουτια κιβωτιο
shipping: αποστολη αποστολες
send ship: στελνω στελνετε στειλετε στειλω στειλατε εστειλα εστειλε σταλει σταλθηκε αποστελλω
deliver delivery: φερετε φερνετε φερω παραδοση παραδοσεις παραδιδω παραδωσετε παραδοθηκε παραδοθει παρεδωσε παρεδωσαν διανομη
courier: κουριερ courier διανομεας ταχυμεταφορικη οδηγος
post office: ταχυδρομειο ταχυδρομικα ταχυδρομος
shipping cost: μεταφορικα
cost price: κοστος κοστιζει κοστιζουν τιμη τιμες ακριβο φθηνο
charge fee: χρεωση χρεωσεις χρεωνετε χρεωνει χρεωθηκα χρεωσατε χρεωσαν επιβαρυνση
pay payment: πληρωμη πληρωμες πληρωνω πληρωσω πληρωσα πληρωσει πληρωθηκε πληρωνετε εξοφληση εξοφλησω
money: χρηματα λεφτα ευρω
refund: αποζημιωση επιστροφη-χρηματων
return: επιστροφη επιστροφες επιστρεφω επιστρεψω επιστρεψετε επιστρεφεται επιστρεφονται επιστραφει γυρισω γυριζω γυρισει γυριζουν
back: πισω
free: τζαμπα
time: χρονος χρονοι χρονο διαρκεια
day days: μερα μερες ημερα ημερες
week: εβδομαδα εβδομαδες βδομαδα βδομαδες
month: μηνας μηνα μηνες
hour: ωρα ωρες
today: σημερα
tomorrow next day: αυριο
yesterday: χθες
fast quick express: γρηγορα γρηγορη γρηγορο γρηγοροτερα ταχεια ταχυτερα εξπρες επειγον επειγοντως βιαζομαι
late delayed: καθυστερηση καθυστερει καθυστερησε καθυστερημενο αργει αργησε αργοπορια κολλησε
slow: αργα αργο
arrive: φτανω φτανει φτασει εφτασε φτασουν εφτασαν ερχεται ερθει ηρθε ηρθαν ερθουν αφιξη
receive get: παραλαμβανω παρελαβα παραλαβω λαμβανω ελαβα πηρα παρω παιρνω
pickup collect: παραλαβη
store shop: καταστημα καταστηματα μαγαζι μαγαζια
locker pickup point: θυριδα θυριδες λοκερ
point place: σημειο σημεια
abroad international: εξωτερικο διεθνης διεθνεις
country: χωρα χωρες
customs: τελωνειο τελωνειακα εκτελωνισμος
duty tax: δασμος δασμοι φορος φοροι
vat: φπα
invoice: τιμολογιο τιμολογια παραστατικο αποδειξη αποδειξεις
receipt: αποδειξη
company business: εταιρεια επιχειρηση επαγγελματιας
tax number: αφμ
track: εντοπισμος εντοπισω παρακολουθηση παρακολουθησω παρακολουθω πορεια ιχνος
status: κατασταση καταστασεις
address: διευθυνση διευθυνσεις οδος οδο σπιτι ταχυδρομικος κουδουνι οροφος
move house: μετακομισα μετακομιζω μετακομιση
change: αλλαγη αλλαγες αλλαζω αλλαξω αλλαξα αλλαξει αλλαξετε τροποποιηση διορθωση διορθωσω
wrong: λαθος λανθασμενο λανθασμενη λαθεμενο
lost: χαθηκε χαμενο χαμενα χαθηκαν εξαφανιστηκε
stolen: κλεμμενο κλεψαν εκλεψαν
damaged broken: κατεστραμμενο κατεστραμμενα χαλασμενο σπασμενο σπασμενα εσπασε ζημια ζημιες χτυπημενο τσακισμενο σκισμενο ραγισμενο ραγισε λιωμενο θρυψαλα κομματια
faulty defective: ελαττωματικο ελαττωματικα ελαττωμα χαλασε χαλασαν ξεκολλησε ξηλωθηκε ξεφτισε
works: δουλευει λειτουργει δουλευουν λειτουργουν
warranty: εγγυηση
cancel: ακυρωση ακυρωσεις ακυρωνω ακυρωσω ακυρωσετε ακυρο
stop: σταματησετε σταματησω σταματησαν σταματησε
policy rules: πολιτικη οροι κανονες προυποθεσεις
how: πως τροπος
method option: τροπος τροποι επιλογη επιλογες
steps: βηματα διαδικασια
deadline: προθεσμια διορια
exchange swap: ανταλλαγη ανταλλαξω ανταλλασσω
size: μεγεθος μεγεθη νουμερο νουμερα
small tight: μικρο μικρα στενο στενα
big large: μεγαλο μεγαλα φαρδυ φαρδια
colour: χρωμα χρωματα αποχρωση μπλε μαυρο ασπρο κοκκινο
gift: δωρο δωρα χαρισαν χαρισε χαρισα
gift card: δωροκαρτα δωροεπιταγη
non returnable: μηεπιστρεψιμο
underwear: εσωρουχα
earrings jewellery: σκουλαρικια κοσμηματα
personalised: προσωποποιημενο προσωποποιημενα κεντημενο χαραγμενο μονογραμμα
worn used: φορεσα φορεμενο χρησιμοποιησα χρησιμοποιημενο
unworn unused: αφορετο αφορετα αχρησιμοποιητο καινουριο
tags label: ετικετα ετικετες ταμπελακι
card: καρτα καρτες χρεωστικη πιστωτικη
bank: τραπεζα λογαριασμο λογαριασμος
declined failed: απορριφθηκε απορριπτεται απορριψη απετυχε αποτυχια αποτυχε σφαλμα δενπερνα
error: σφαλμα
cash on delivery: αντικαταβολη
instalments pay later: δοσεις δοση ατοκες klarna
later: αργοτερα μετα
double: διπλη διπλο διπλα δυο
add: προσθεσω προσθεσετε προσθηκη προσθετω
remove: αφαιρεση αφαιρεσω βγαλω βγαλετε
item product: προιον προιοντα εμπορευμα αντικειμενο πραγμα πραγματα
missing: λειπει λειπουν ελειπε ελλιπης λειπει
half: μισο μισα
email: μαιλ μειλ email εμαιλ μηνυμα μηνυματα ειδοποιηση
spam: ανεπιθυμητα spam
confirmation: επιβεβαιωση επιβεβαιωσεις επιβεβαιωθηκε
discount: εκπτωση εκπτωσεις προσφορα προσφορες
coupon code: κουπονι κουπονια κωδικος κωδικο κωδικοι
basket cart: καλαθι
checkout: ταμειο
neighbour: γειτονας γειτονες γειτονα διπλανο διπλανος
safe place: ασφαλεςσημειο
door: πορτα εισοδος
signature sign: υπογραφη υπογραψω υπογραφω
home: σπιτι
leave: αφησει αφησετε αφησω αφησε
away: λειπω
weekend: σαββατοκυριακο σαββατο κυριακη
clothes: ρουχα ρουχο μπλουζα παντελονι φορεμα πουλοβερ μπουφαν πουκαμισο
shoes: παπουτσια παπουτσι μποτες
glass cup: ποτηρι ποτηρια κουπα κουπες βαζο πιατο
open: ανοιξα ανοιγω ανοιχτο ανοιγμενο
box: κουτι
wait: περιμενω περιμενα περιμενετε
still yet: ακομα ακομη
nothing: τιποτα
want: θελω
change mind: γνωμη
like: αρεσει αρεσε
fit: ταιριαζει χωραει εφαρμοζει
problem: προβλημα
help: βοηθεια
account: λογαριασμος
expensive: ακριβα
not received: δενεφτασε
store credit: πιστωσηκαταστηματος
too late after deadline: εκπροθεσμα
return label: ετικεταεπιστροφης
usa: ηπα αμερικη
uk: βρετανια αγγλια λονδινο
opening hours: ωραριο
""".strip()


# Phrases glossed as a whole, before the words (knowledge_base.gloss): a question word with its verb
# says what a word-by-word gloss loses ("πόσες μέρες" is "how many days", not "day time"; "πότε θα
# έρθει" is "when will it be delivered"). Each line is "english words: greek phrase | greek phrase" (" | "
# with spaces separates phrases; a regex group inside one has none), the
# Greek in folded spelling (σ for ς, no accents), matched in any spelling by sound
# (synonyms_el.loose), a [α-ω]* only at the end of a word. General Greek, not keyed to any article.
PHRASES = """
how many days: ποσες μερες | ποσες ημερες | ποσες εργασιμες | ποσα εικοσιτετραωρα | ποσο καιρο | ποσο χρονο | ποσο διαρκει | ποσο θα κανει
how long does it take: ποσο κανει να | ποσο αργει να | ποσο θελει να | ποσο παιρνει να
when will it be delivered: ποτε θα (?:ερθ|φτασ|παραλαβ|εχ)[α-ω]* | ποτε (?:ερχεται|ερχονται|φτανει|φτανουν)
when: ποτε
""".strip()


def phrases() -> list[tuple[str, list[str]]]:
    """(english words, greek phrase patterns) per line of PHRASES."""
    out = []
    for line in PHRASES.splitlines():
        english, _, greek = line.partition(":")
        out.append((english.strip(), [g.strip().replace("ς", "σ") for g in greek.split(" | ") if g.strip()]))
    return out


def entries() -> list[tuple[str, list[str]]]:
    """(english words, greek words) per line of the glossary."""
    out = []
    for line in GLOSSARY.splitlines():
        english, _, greek = line.partition(":")
        if greek.strip():
            out.append((english.strip(), greek.split()))
    return out
