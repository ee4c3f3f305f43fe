"""The admin pages that configure regions: above accounts (they check portal roles), beside
customers; the Region model and its services stay in regions/, below accounts."""
