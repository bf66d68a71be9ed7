-- CDAP benchmark: fill the reference tables with N synthetic allocataires, set-based in
-- PostgreSQL (used by bench/cdap_bench.py prepare-sql; the import path is measured separately).
-- psql -v n=1000000 -v start=2000000 -f bench/cdap_fill.sql
\set ON_ERROR_STOP on
BEGIN;
CREATE TEMP TABLE bench_noms (i int PRIMARY KEY, nom text);
INSERT INTO bench_noms SELECT i, n FROM unnest(ARRAY['MARTIN','BERNARD','THOMAS','PETIT','ROBERT','RICHARD',
  'DURAND','DUBOIS','MOREAU','LAURENT','SIMON','MICHEL','LEFEBVRE','LEROY','ROUX','DAVID','BERTRAND','MOREL',
  'FOURNIER','GIRARD','BONNET','DUPONT','LAMBERT','FONTAINE','ROUSSEAU','VINCENT','MULLER','LEFEVRE','FAURE',
  'ANDRE','MERCIER','BLANC','GUERIN','BOYER','GARNIER','CHEVALIER','FRANCOIS','LEGRAND','GAUTHIER','GARCIA',
  'PERRIN','ROBIN','CLEMENT','MORIN','NICOLAS','HENRY','ROUSSEL','MATHIEU','GAUTIER','MASSON']) WITH ORDINALITY AS t(n, i);

INSERT INTO cdap_allocataires (numero, nom, nom_normalise, prenom, date_naissance, adresse, code_postal,
                               commune, departement, situation_familiale, updated_at)
SELECT lpad((:start + g)::text, 7, '0'), initcap(n.nom), n.nom,
       (ARRAY['Camille','Julie','Nicolas','Sophie','Thomas','Léa','Karim','Inès','Hugo','Manon'])[1 + g % 10],
       DATE '1960-01-01' + (g % 15000), (1 + g % 150) || ' rue de la République', '80000', 'Amiens', '80',
       (ARRAY['celibataire','marie','pacse','concubinage','separe'])[1 + g % 5], now()
FROM generate_series(1, :n) AS g JOIN bench_noms n ON n.i = 1 + g % 50;

CREATE TEMP TABLE bench_ids AS
SELECT id, (numero::int - :start) AS g FROM cdap_allocataires WHERE numero::int > :start AND numero::int <= :start + :n;

INSERT INTO cdap_membres (allocataire_id, role, nom, prenom, date_naissance, a_charge)
SELECT id, 'enfant', 'X', 'Enfant', DATE '2010-01-01' + (g % 5000), true FROM bench_ids WHERE g % 3 <> 0
UNION ALL
SELECT id, 'conjoint', 'X', 'Conjoint', DATE '1965-01-01' + (g % 12000), false FROM bench_ids WHERE g % 2 = 0;

INSERT INTO cdap_quotients (allocataire_id, mois, qf)
SELECT id, (date_trunc('month', now()) - make_interval(months => m))::date, 300 + (g * 7 + m) % 1500
FROM bench_ids, generate_series(1, 12) AS m;

INSERT INTO cdap_droits (allocataire_id, prestation, montant_cents, date_debut, date_fin, statut)
SELECT id, 'AF', 14899, DATE '2022-01-01', NULL::date, 'ouvert' FROM bench_ids WHERE g % 3 <> 0
UNION ALL
SELECT id, 'APL', 20000 + g % 20000, DATE '2021-06-01', NULL, 'ouvert' FROM bench_ids WHERE g % 20 < 9;

INSERT INTO cdap_logements (allocataire_id, code_bailleur, code_locataire, loyer_cents, charges_cents,
                            nb_colocataires, date_entree, date_sortie, tiers_payant, updated_at)
SELECT id, 'BL0800' || lpad((2 + g % 4)::text, 2, '0'), 'B' || lpad(g::text, 9, '0'), 40000 + g % 30000,
       6000, 0, DATE '2019-01-01' + (g % 2000), NULL, true, now()
FROM bench_ids WHERE g % 20 < 9;

INSERT INTO cdap_paiements (allocataire_id, mois, prestation, montant_cents, date_paiement, beneficiaire, code_bailleur)
SELECT b.id, d.mois, dr.prestation, dr.montant_cents,
       CASE WHEN dr.prestation = 'APL' THEN d.mois + 24 ELSE (d.mois + interval '1 month' + interval '4 days')::date END,
       CASE WHEN dr.prestation = 'APL' THEN 'bailleur' ELSE 'allocataire' END,
       CASE WHEN dr.prestation = 'APL' THEN 'BL0800' || lpad((2 + b.g % 4)::text, 2, '0') END
FROM bench_ids b
JOIN cdap_droits dr ON dr.allocataire_id = b.id
CROSS JOIN LATERAL (SELECT (date_trunc('month', now()) - make_interval(months => m))::date AS mois
                    FROM generate_series(1, 12) AS m) d;
COMMIT;
ANALYZE;
