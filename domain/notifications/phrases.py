# ruff: noqa: RUF001  (French typography writes its apostrophe as U+2019, on purpose)
"""Every phrase of every email, in each language Skybound writes (English first; a
phrase missing in another language falls back to English)."""

from __future__ import annotations

PHRASES: dict[str, dict[str, str]] = {
    "en": {
        "campaign.why": "You receive this because you agreed to offers from Sky-Bound Journeys.",
        "campaign.unsubscribe": "Unsubscribe",
        "subject.booking_confirmation": "Your booking {locator} is confirmed",
        "subject.booking_changed": "Your booking {locator} has changed",
        "subject.booking_cancelled": "Your booking {locator} is cancelled",
        "subject.flight_delay": "{flight} is delayed: new departure {time}",
        "subject.flight_gate": "{flight} now departs from gate {gate}",
        "subject.flight_cancelled": "{flight} is cancelled",
        "subject.flight_diverted": "{flight} has been diverted",
        "subject.checkin_open": "Check in now for {flight} to {city}",
        "subject.departure_reminder": "Today: {flight} to {city}",
        "hello": "Hello {name},",
        "booking_confirmation.intro": "Thank you for flying with us. Your booking is confirmed "
        "and your e-tickets are attached.",
        "booking_changed.intro": "Your booking has been changed as you asked. Here is your "
        "trip as it stands now.",
        "booking_cancelled.intro": "Your booking has been cancelled.",
        "flight_delay.intro": "Your flight {flight} from {origin} to {destination} is delayed.",
        "flight_gate.intro": "The departure gate of your flight {flight} from {origin} to "
        "{destination} has changed.",
        "flight_cancelled.intro": "We are sorry: your flight {flight} from {origin} to "
        "{destination} on {date} is cancelled.",
        "flight_cancelled.options": "You can change to another flight at no cost, or cancel "
        "your booking for a full refund, in the app or at {link}.",
        "flight_diverted.intro": "Your flight {flight} from {origin} has been diverted to "
        "{destination}.",
        "checkin_open.intro": "Check-in for your flight {flight} to {city} is open. Check in "
        "now to choose your seat and get your boarding pass.",
        "checkin_open.action": "Check in now",
        "departure_reminder.intro": "Your flight {flight} to {city} leaves today.",
        "booking_reference": "Booking reference",
        "itinerary": "Your trip",
        "passengers": "Passengers",
        "flight": "Flight",
        "departs": "Departs",
        "arrives": "Arrives",
        "cabin": "Cabin",
        "seat": "Seat",
        "gate": "Gate",
        "terminal": "Terminal",
        "boarding": "Boarding",
        "scheduled": "Scheduled",
        "new_departure": "New departure",
        "total_paid": "Total paid",
        "refund": "Refund",
        "refund_note": "A refund of {amount} goes back to the card you paid with; it may "
        "take a few days to show.",
        "amount_charged": "Charged",
        "not_assigned": "not yet assigned",
        "attachments": "Attached: your e-ticket receipts and a calendar entry for each flight.",
        "manage": "Manage your booking",
        "footer": "Sky-Bound Journeys. This message was sent about your booking {locator}.",
        "cabin.first": "First",
        "cabin.business": "Business",
        "cabin.premium_economy": "Premium Economy",
        "cabin.economy": "Economy",
    },
    "fr": {
        "campaign.why": "Vous recevez ce message car vous avez accepté les offres de Sky-Bound "
        "Journeys.",
        "campaign.unsubscribe": "Se désabonner",
        "subject.booking_confirmation": "Votre réservation {locator} est confirmée",
        "subject.booking_changed": "Votre réservation {locator} a été modifiée",
        "subject.booking_cancelled": "Votre réservation {locator} est annulée",
        "subject.flight_delay": "{flight} est retardé : nouveau départ {time}",
        "subject.flight_gate": "{flight} part désormais de la porte {gate}",
        "subject.flight_cancelled": "{flight} est annulé",
        "subject.flight_diverted": "{flight} a été dérouté",
        "subject.checkin_open": "Enregistrez-vous pour {flight} à destination de {city}",
        "subject.departure_reminder": "Aujourd’hui : {flight} à destination de {city}",
        "hello": "Bonjour {name},",
        "booking_confirmation.intro": "Merci de voyager avec nous. Votre réservation est "
        "confirmée et vos billets électroniques sont joints.",
        "booking_changed.intro": "Votre réservation a été modifiée comme demandé. Voici votre "
        "voyage tel qu’il est désormais.",
        "booking_cancelled.intro": "Votre réservation a été annulée.",
        "flight_delay.intro": "Votre vol {flight} de {origin} à {destination} est retardé.",
        "flight_gate.intro": "La porte d’embarquement de votre vol {flight} de {origin} à "
        "{destination} a changé.",
        "flight_cancelled.intro": "Nous sommes désolés : votre vol {flight} de {origin} à "
        "{destination} du {date} est annulé.",
        "flight_cancelled.options": "Vous pouvez choisir un autre vol sans frais, ou annuler "
        "votre réservation avec remboursement intégral, dans l’application ou sur {link}.",
        "flight_diverted.intro": "Votre vol {flight} au départ de {origin} a été dérouté vers "
        "{destination}.",
        "checkin_open.intro": "L’enregistrement de votre vol {flight} à destination de {city} "
        "est ouvert. Enregistrez-vous pour choisir votre siège et obtenir votre carte "
        "d’embarquement.",
        "checkin_open.action": "S’enregistrer",
        "departure_reminder.intro": "Votre vol {flight} à destination de {city} part aujourd’hui.",
        "booking_reference": "Référence de réservation",
        "itinerary": "Votre voyage",
        "passengers": "Passagers",
        "flight": "Vol",
        "departs": "Départ",
        "arrives": "Arrivée",
        "cabin": "Cabine",
        "seat": "Siège",
        "gate": "Porte",
        "terminal": "Terminal",
        "boarding": "Embarquement",
        "scheduled": "Prévu",
        "new_departure": "Nouveau départ",
        "total_paid": "Total payé",
        "refund": "Remboursement",
        "refund_note": "Un remboursement de {amount} est versé sur la carte utilisée ; il "
        "peut apparaître après quelques jours.",
        "amount_charged": "Débité",
        "not_assigned": "pas encore attribué",
        "attachments": "Pièces jointes : vos reçus de billet électronique et une entrée de "
        "calendrier par vol.",
        "manage": "Gérer votre réservation",
        "footer": "Sky-Bound Journeys. Ce message concerne votre réservation {locator}.",
        "cabin.first": "Première",
        "cabin.business": "Affaires",
        "cabin.premium_economy": "Premium Économie",
        "cabin.economy": "Économie",
    },
    "es": {
        "campaign.why": "Recibe este mensaje porque aceptó recibir ofertas de Sky-Bound Journeys.",
        "campaign.unsubscribe": "Darse de baja",
        "subject.booking_confirmation": "Su reserva {locator} está confirmada",
        "subject.booking_changed": "Su reserva {locator} ha cambiado",
        "subject.booking_cancelled": "Su reserva {locator} está cancelada",
        "subject.flight_delay": "{flight} tiene retraso: nueva salida {time}",
        "subject.flight_gate": "{flight} sale ahora por la puerta {gate}",
        "subject.flight_cancelled": "{flight} está cancelado",
        "subject.flight_diverted": "{flight} ha sido desviado",
        "subject.checkin_open": "Haga el check-in para {flight} a {city}",
        "subject.departure_reminder": "Hoy: {flight} a {city}",
        "hello": "Hola, {name}:",
        "booking_confirmation.intro": "Gracias por volar con nosotros. Su reserva está "
        "confirmada y sus billetes electrónicos van adjuntos.",
        "booking_changed.intro": "Su reserva se ha modificado según lo pedido. Este es su "
        "viaje ahora.",
        "booking_cancelled.intro": "Su reserva ha sido cancelada.",
        "flight_delay.intro": "Su vuelo {flight} de {origin} a {destination} tiene retraso.",
        "flight_gate.intro": "La puerta de embarque de su vuelo {flight} de {origin} a "
        "{destination} ha cambiado.",
        "flight_cancelled.intro": "Lo sentimos: su vuelo {flight} de {origin} a {destination} "
        "del {date} está cancelado.",
        "flight_cancelled.options": "Puede cambiar a otro vuelo sin coste o cancelar su "
        "reserva con reembolso completo, en la aplicación o en {link}.",
        "flight_diverted.intro": "Su vuelo {flight} desde {origin} ha sido desviado a "
        "{destination}.",
        "checkin_open.intro": "El check-in de su vuelo {flight} a {city} está abierto. Hágalo "
        "ahora para elegir asiento y obtener su tarjeta de embarque.",
        "checkin_open.action": "Hacer el check-in",
        "departure_reminder.intro": "Su vuelo {flight} a {city} sale hoy.",
        "booking_reference": "Código de reserva",
        "itinerary": "Su viaje",
        "passengers": "Pasajeros",
        "flight": "Vuelo",
        "departs": "Salida",
        "arrives": "Llegada",
        "cabin": "Cabina",
        "seat": "Asiento",
        "gate": "Puerta",
        "terminal": "Terminal",
        "boarding": "Embarque",
        "scheduled": "Prevista",
        "new_departure": "Nueva salida",
        "total_paid": "Total pagado",
        "refund": "Reembolso",
        "refund_note": "Se reembolsarán {amount} a la tarjeta con la que pagó; puede tardar "
        "unos días en verse.",
        "amount_charged": "Cargado",
        "not_assigned": "aún sin asignar",
        "attachments": "Adjuntos: sus recibos de billete electrónico y una entrada de "
        "calendario por vuelo.",
        "manage": "Gestionar su reserva",
        "footer": "Sky-Bound Journeys. Este mensaje trata de su reserva {locator}.",
        "cabin.first": "Primera",
        "cabin.business": "Business",
        "cabin.premium_economy": "Premium Economy",
        "cabin.economy": "Turista",
    },
}
