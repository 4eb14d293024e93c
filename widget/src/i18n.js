// UI strings. Message text from the server is never translated here.
const en = {
  title: "Chat with us",
  subtitle: "We usually reply in a few minutes",
  close: "Close chat",
  label: "Type your message",
  placeholder: "Write a message…",
  send: "Send",
  log: "Conversation",
  empty: "Hi! Ask us anything about orders, delivery or returns.",
  typing: "Assistant is typing",
  reconnecting: "Reconnecting…",
  waiting: "Waiting for a person to join… You can keep asking me questions meanwhile.",
  sending: "Sending…",
  from: "From: ",
  agent: "Support team",
  replies: "Suggested replies",
  notSent: "Not sent: ",
  left: " characters left",
  over: " characters too many",
  message_too_long: "the message is too long (2,000 characters at most).",
  empty_message: "the message is empty.",
  rate_limited: "too many messages at once. Please wait a moment and try again.",
  error: "something went wrong.",
};

const el = {
  title: "Μιλήστε μαζί μας",
  subtitle: "Συνήθως απαντάμε σε λίγα λεπτά",
  close: "Κλείσιμο συνομιλίας",
  label: "Γράψτε το μήνυμά σας",
  placeholder: "Γράψτε ένα μήνυμα…",
  send: "Αποστολή",
  log: "Συνομιλία",
  empty: "Γεια σας! Ρωτήστε μας ό,τι θέλετε για παραγγελίες, αποστολές ή επιστροφές.",
  typing: "Ο βοηθός πληκτρολογεί",
  reconnecting: "Επανασύνδεση…",
  waiting:
    "Περιμένουμε να συνδεθεί κάποιος από την ομάδα μας… Μπορείτε να συνεχίσετε να μου κάνετε ερωτήσεις στο μεταξύ.",
  sending: "Αποστολή…",
  from: "Πηγή: ",
  agent: "Ομάδα υποστήριξης",
  replies: "Προτεινόμενες απαντήσεις",
  notSent: "Δεν στάλθηκε: ",
  left: " χαρακτήρες απομένουν",
  over: " χαρακτήρες παραπάνω",
  message_too_long: "το μήνυμα είναι πολύ μεγάλο (έως 2.000 χαρακτήρες).",
  empty_message: "το μήνυμα είναι κενό.",
  rate_limited: "πάρα πολλά μηνύματα μαζί. Περιμένετε λίγο και δοκιμάστε ξανά.",
  error: "κάτι πήγε στραβά.",
};

export function pickLang(wanted) {
  return String(wanted || "").slice(0, 2).toLowerCase() === "el" ? "el" : "en";
}

export function strings(lang) {
  return lang === "el" ? el : en;
}
