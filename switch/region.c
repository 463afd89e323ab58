/*
 * region - Nlets' regions built in (see region.h for the sources and
 * what in this table is Nlets' and what is the simulator's choice).
 */
#include <stddef.h>
#include <string.h>

#include "region.h"

/*
 * Eight regions (Nlets: "eight regions", "six or seven states" each),
 * coded as the one documented code is shaped (E1, Wisconsin's). The
 * members are the simulator's choice: every member state, DC, Puerto
 * Rico, the US Virgin Islands and Guam, each in exactly one region.
 */
static const struct region_builtin region_table[] = {
	{ "A1", "New England", "CT MA ME NH RI VT" },
	{ "B1", "Mid-Atlantic", "DC DE MD NJ NY PA" },
	{ "C1", "South Atlantic", "FL GA NC SC VA WV PR VI" },
	{ "D1", "South Central", "AL AR KY LA MS TN TX" },
	{ "E1", "Great Lakes", "IL IN MI MN OH WI" },
	{ "F1", "Plains", "IA KS MO ND NE OK SD" },
	{ "G1", "Mountain", "AZ CO ID MT NM UT WY" },
	{ "H1", "Pacific", "AK CA HI NV OR WA GU" },
};
#define REGION_NTABLE	(sizeof region_table / sizeof region_table[0])

const struct region_builtin *
region_builtin_at(int i)
{
	if (i < 0 || (size_t)i >= REGION_NTABLE)
		return NULL;
	return &region_table[i];
}

const struct region_builtin *
region_builtin_lookup(const char *code)
{
	size_t	 i;

	if (code == NULL)
		return NULL;
	for (i = 0; i < REGION_NTABLE; i++)
		if (strcmp(region_table[i].code, code) == 0)
			return &region_table[i];
	return NULL;
}
