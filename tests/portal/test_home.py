"""The home page names the user's services by their French labels, never by their codes."""
import pytest

from tests.support.factories import sign_in


@pytest.mark.parametrize("habilitations, labels", [
    ({"EDI": None, "BAILLEUR": None},
     "Vos services : EDI — échanges de fichiers bailleurs, Espace bailleur — déclarations en ligne."),
    ({"CDAP": "travailleur_social"}, "Vos services : CDAP — consultation des dossiers allocataires."),
])
def test_home_names_the_services_by_their_labels(client, factory, habilitations, labels):
    org = factory.organisation(services={code: [profil] if profil else [] for code, profil in habilitations.items()})
    user = factory.user(org=org, habilitations=habilitations)
    sign_in(client, user)
    html = client.get("/accueil").get_data(as_text=True)
    assert labels in html
    assert ", BAILLEUR." not in html
