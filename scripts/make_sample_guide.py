"""Regenerate examples/data/guide.pdf, the two-page sample the quickstart ingests."""

from pathlib import Path

from contextual_avatar.testing import make_pdf

PAGE_1 = """Harbour Light Museum - Visitor Guide

Welcome to the Harbour Light Museum, housed in the old lighthouse keeper's station on the north pier. The museum tells the story of the harbour, its lighthouse and the families who kept the light burning for two hundred years.

Opening hours: the museum is open from Tuesday to Sunday, 10:00 to 18:00. It is closed on Mondays, on 25 December and on 1 January. Last entry is at 17:15.

Getting here: take tram line 4 to the Pier stop, then walk five minutes along the waterfront. There is no car park at the museum; the nearest public car park is on Dock Street.

Highlights: the original Fresnel lens from 1874, the keeper's logbooks, a working foghorn demonstrated every hour on the hour, and the rooftop gallery with a view over the whole bay. The gallery is reached by 112 steps; there is no lift to the roof."""

PAGE_2 = """Tickets and prices

Tickets cost 9 euros for adults. Children aged 4 to 15 pay 5 euros, and children under 4 enter free. Students and seniors over 65 pay 6 euros with a valid card. A family ticket for two adults and up to three children costs 22 euros.

Tickets can be bought at the entrance desk or online. Entry is free for everyone on the first Sunday of each month.

Guided tours start at 11:00 and 15:00 and last about 50 minutes; they are included in the ticket price. Groups of more than ten people should book a tour at least one week ahead.

Accessibility: the ground floor, the café and the shop are step-free. Wheelchairs can be borrowed free of charge at the entrance desk. Assistance dogs are welcome.

Café: the Keeper's Café on the ground floor serves coffee, soup and fish sandwiches from 10:30 until 17:30."""

if __name__ == "__main__":
    out = Path(__file__).resolve().parent.parent / "examples" / "data" / "guide.pdf"
    make_pdf(out, [PAGE_1, PAGE_2])
    print(f"wrote {out}")
