"""Private iCalendar feeds (being written): feed_for(user) -> CalendarFeed, the settings
page and the feed itself."""
